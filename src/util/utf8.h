#pragma once
// UTF-8 helpers.

#include <cstddef>
#include <string>
#include <string_view>

namespace daisy {

// The number of code points (what a person counts as characters) of text that
// is already valid UTF-8.
inline std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Length of the well-formed UTF-8 sequence (RFC 3629) starting at s[i], or 0.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

// The longest prefix of s of at most max_bytes that cuts no code point.
inline std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  std::size_t keep = max_bytes;
  while (keep > 0 && (static_cast<unsigned char>(s[keep]) & 0xC0) == 0x80) --keep;
  return s.substr(0, keep);
}
// The code point of the well-formed sequence of n bytes at s[i].
char32_t utf8_decode(std::string_view s, std::size_t i, std::size_t n);

// Code points that change how text reads without being seen: C0 and C1
// controls, DEL, the bidirectional controls (U+200E, U+200F, U+202A-U+202E,
// U+2066-U+2069) and the line and paragraph separators (U+2028, U+2029).
bool is_hidden_control(char32_t cp);
// True when s holds a hidden control or bytes that are not UTF-8.
bool has_hidden_control(std::string_view s);

// Arbitrary bytes as valid UTF-8 of at most max_bytes: each byte that does not
// start a well-formed sequence becomes U+FFFD, and the text is cut at a
// character boundary. For keeping untrusted input (a rejected payload) where
// JSON text must stay valid. truncated is set when input was left out.
std::string sanitize_utf8(std::string_view bytes, std::size_t max_bytes, bool& truncated);
// The whole of bytes as valid UTF-8 (sanitize_utf8 without a cap: U+FFFD is
// three bytes, so three per byte always fits).
std::string sanitize_utf8(std::string_view bytes);

// True when s is well-formed UTF-8 without a NUL byte: text that PostgreSQL
// accepts as it is.
bool is_utf8_without_nul(std::string_view s);
// s with each byte that does not start a well-formed sequence, and each NUL,
// as U+FFFD.
std::string to_utf8_without_nul(std::string_view s);

}  // namespace daisy
