#pragma once
// UTF-8 helpers for text that has already been validated as UTF-8.

#include <cstddef>
#include <string_view>

namespace daisy {

// The number of code points (what a person counts as characters).
inline std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace daisy
