#include "util/utf8.h"

namespace daisy {

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
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

char32_t utf8_decode(std::string_view s, std::size_t i, std::size_t n) {
  auto byte = [&](std::size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[i + k])); };
  switch (n) {
    case 1:
      return byte(0);
    case 2:
      return (byte(0) & 0x1F) << 6 | (byte(1) & 0x3F);
    case 3:
      return (byte(0) & 0x0F) << 12 | (byte(1) & 0x3F) << 6 | (byte(2) & 0x3F);
    default:
      return (byte(0) & 0x07) << 18 | (byte(1) & 0x3F) << 12 | (byte(2) & 0x3F) << 6 | (byte(3) & 0x3F);
  }
}

bool is_hidden_control(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x200E || cp == 0x200F || (cp >= 0x2028 && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

bool has_hidden_control(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = utf8_sequence_length(s, i);
    if (n == 0 || is_hidden_control(utf8_decode(s, i, n))) return true;
    i += n;
  }
  return false;
}

std::string sanitize_utf8(std::string_view bytes, std::size_t max_bytes, bool& truncated) {
  static constexpr std::string_view replacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(std::min(bytes.size(), max_bytes));
  truncated = false;
  std::size_t i = 0;
  while (i < bytes.size()) {
    std::size_t n = utf8_sequence_length(bytes, i);
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
    std::size_t n = c == 0 ? 0 : utf8_sequence_length(s, i);
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
    std::size_t n = s[i] == '\0' ? 0 : utf8_sequence_length(s, i);
    out.append(n ? s.substr(i, n) : replacement);
    i += n ? n : 1;
  }
  return out;
}

std::string sanitize_utf8(std::string_view bytes) {
  bool truncated = false;
  return sanitize_utf8(bytes, bytes.size() * 3, truncated);
}

}  // namespace daisy
