#pragma once
// Bearer tokens: 32 random bytes, base64url, with a prefix that says what the
// token is for (so a leaked one is recognisable in logs and secret scanners).
// Only SHA-256 hashes of tokens are ever stored.

#include <string>

#include "util/crypto.h"

namespace daisy {

inline constexpr std::string_view admin_token_prefix = "dsy_admin_";
inline constexpr std::string_view app_token_prefix = "dsy_app_";
// Not a secret (pages carry it); hashed all the same for lookups.
inline constexpr std::string_view publishable_key_prefix = "dpk_";

std::string generate_token(std::string_view prefix);
inline Sha256 hash_token(std::string_view token) { return sha256(token); }

}  // namespace daisy
