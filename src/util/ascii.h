#pragma once
// ASCII text helpers for protocol tokens (header names, schemes, media
// types), which compare case-insensitively in ASCII only.

#include <string_view>

namespace daisy {

// True when a and b are equal ignoring ASCII case.
bool iequals(std::string_view a, std::string_view b);

}  // namespace daisy
