#include "util/utf8.h"

namespace daisy {

namespace {

// Length of the well-formed sequence at s[i] (RFC 3629), or 0.
std::size_t sequence_length(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n;
  unsigned char low = 0x80, high = 0xBF;  // bounds of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) low = 0xA0;
    if (c == 0xED) high = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) low = 0x90;
    if (c == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return n;
}

}  // namespace

std::string sanitize_utf8(std::string_view bytes, std::size_t max_bytes, bool& truncated) {
  static constexpr std::string_view replacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(std::min(bytes.size(), max_bytes));
  truncated = false;
  std::size_t i = 0;
  while (i < bytes.size()) {
    std::size_t n = sequence_length(bytes, i);
    std::string_view piece = n ? bytes.substr(i, n) : replacement;
    if (out.size() + piece.size() > max_bytes) {
      truncated = true;
      break;
    }
    out.append(piece);
    i += n ? n : 1;
  }
  return out;
}

bool is_utf8_without_nul(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c != 0 && c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = c == 0 ? 0 : sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string to_utf8_without_nul(std::string_view s) {
  static constexpr std::string_view replacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(s.size() + 8);
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = s[i] == '\0' ? 0 : sequence_length(s, i);
    out.append(n ? s.substr(i, n) : replacement);
    i += n ? n : 1;
  }
  return out;
}

}  // namespace daisy
