#include "util/ids.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <random>

#include "util/crypto.h"

namespace daisy {
namespace {

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t thread_seed() {
  std::string bytes = secure_random_bytes(8);
  std::uint64_t seed;
  std::memcpy(&seed, bytes.data(), 8);
  return seed;
}

// Random words for ids, drawn from the system CSPRNG a page at a time: one
// RAND_bytes call per id cost more than the rest of the id.
std::uint64_t random_word() {
  thread_local std::array<std::uint64_t, 512> pool;
  thread_local std::size_t next = pool.size();
  if (next == pool.size()) {
    std::string bytes = secure_random_bytes(sizeof pool);
    std::memcpy(pool.data(), bytes.data(), sizeof pool);
    next = 0;
  }
  return pool[next++];
}

void put_hex(char* out, std::uint64_t v, int digits) {
  static constexpr char hex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) {
    out[i] = hex[v & 15];
    v >>= 4;
  }
}

// The canonical 8-4-4-4-12 form of a UUID's two 64-bit halves.
std::string format_uuid(std::uint64_t hi, std::uint64_t lo) {
  std::string out(36, '-');
  put_hex(&out[0], hi >> 32, 8);
  put_hex(&out[9], (hi >> 16) & 0xffff, 4);
  put_hex(&out[14], hi & 0xffff, 4);
  put_hex(&out[19], lo >> 48, 4);
  put_hex(&out[24], lo & 0xffffffffffffULL, 12);
  return out;
}

}  // namespace

std::string new_uuid_v7() {
  // 48-bit millisecond timestamp, then a 12-bit counter (rand_a) that keeps ids
  // issued in the same millisecond ordered, then 62 random bits.
  static std::mutex mu;
  static std::uint64_t last_ms = 0;
  static std::uint32_t counter = 0;
  std::uint64_t ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  std::uint32_t seq;
  {
    std::lock_guard lock(mu);
    if (ms <= last_ms) {
      ms = last_ms;
      if (++counter > 0xfff) {  // counter exhausted: borrow the next millisecond
        ++ms;
        counter = 0;
      }
    } else {
      counter = 0;
    }
    last_ms = ms;
    seq = counter;
  }
  std::uint64_t r = random_word();

  std::uint64_t hi = (ms << 16) | (0x7ULL << 12) | seq;
  std::uint64_t lo = (r & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  return format_uuid(hi, lo);
}

std::string name_based_uuid(std::string_view name) {
  Sha256 h = sha256(name);
  std::uint64_t hi = 0, lo = 0;
  for (int i = 0; i < 8; ++i) hi = (hi << 8) | h[i];
  for (int i = 8; i < 16; ++i) lo = (lo << 8) | h[i];
  hi = (hi & ~0xf000ULL) | 0x8000ULL;                         // version 8
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 9562 variant
  return format_uuid(hi, lo);
}

std::string new_request_id() {
  thread_local std::uint64_t state = thread_seed();
  std::string out(32, '0');
  put_hex(&out[0], splitmix64(state), 16);
  put_hex(&out[16], splitmix64(state), 16);
  return out;
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

std::string lower_case_uuid(std::string_view uuid) {
  std::string out(uuid);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace daisy
