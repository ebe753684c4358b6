#pragma once
// Allocation-free appends of numbers to a string, for hot paths where
// fmt's generic machinery costs more than the work itself.

#include <charconv>
#include <cstdint>
#include <string>

namespace daisy {

inline void append_decimal(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// v with exactly three decimals (v >= 0), e.g. 0.052 or 12.500.
inline void append_fixed3(std::string& out, double v) {
  std::uint64_t thousandths = static_cast<std::uint64_t>(v * 1000.0 + 0.5);
  append_decimal(out, thousandths / 1000);
  char frac[4] = {'.', static_cast<char>('0' + thousandths / 100 % 10), static_cast<char>('0' + thousandths / 10 % 10),
                  static_cast<char>('0' + thousandths % 10)};
  out.append(frac, 4);
}

}  // namespace daisy
