#pragma once
// Hashing, secure randomness and constant-time comparison (OpenSSL underneath).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace daisy {

using Sha256 = std::array<std::uint8_t, 32>;

Sha256 sha256(std::string_view data);
inline std::string_view bytes_of(const Sha256& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

// Cryptographically secure random bytes; aborts if the system RNG fails.
std::string secure_random_bytes(std::size_t n);

// True when a and b are equal; the time taken depends only on their lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

std::string to_hex(std::string_view bytes);
// Bytes from lower- or upper-case hex; empty when the input is not hex of even length.
std::string from_hex(std::string_view hex);
std::string base64url(std::string_view bytes);  // no padding
std::string base64(std::string_view bytes);     // standard alphabet, padded (OpenSSL)
// Bytes from standard padded base64; nullopt when the input is not that.
std::optional<std::string> from_base64(std::string_view text);

// HMAC-SHA256 of data under key (OpenSSL).
Sha256 hmac_sha256(std::string_view key, std::string_view data);
// HMAC-SHA1 of data under key, its 20 raw bytes (Twilio's request signatures).
std::string hmac_sha1(std::string_view key, std::string_view data);

// True when pem is an RSA private key in PEM (PKCS#8 or PKCS#1) of at least
// 2048 bits.
bool is_rsa_private_key_pem(std::string_view pem);
// The RSASSA-PKCS1-v1_5 SHA-256 signature of data (JWT's RS256) with that
// key; nullopt when the key cannot be read.
std::optional<std::string> rs256_sign(std::string_view private_key_pem, std::string_view data);

}  // namespace daisy
