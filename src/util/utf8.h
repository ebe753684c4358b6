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

// Arbitrary bytes as valid UTF-8 of at most max_bytes: each byte that does not
// start a well-formed sequence becomes U+FFFD, and the text is cut at a
// character boundary. For keeping untrusted input (a rejected payload) where
// JSON text must stay valid. truncated is set when input was left out.
std::string sanitize_utf8(std::string_view bytes, std::size_t max_bytes, bool& truncated);

// True when s is well-formed UTF-8 without a NUL byte: text that PostgreSQL
// accepts as it is.
bool is_utf8_without_nul(std::string_view s);
// s with each byte that does not start a well-formed sequence, and each NUL,
// as U+FFFD.
std::string to_utf8_without_nul(std::string_view s);

}  // namespace daisy
