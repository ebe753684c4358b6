#pragma once
// ASCII text helpers for protocol tokens (header names, schemes, media
// types), which compare case-insensitively in ASCII only.

#include <string>
#include <string_view>

namespace daisy {

// True when a and b are equal ignoring ASCII case.
bool iequals(std::string_view a, std::string_view b);

// Every byte but RFC 3986's unreserved ones (letters, digits, - . _ ~) as
// %XX: a URL path segment, or a form field's value.
std::string percent_encode(std::string_view value);

}  // namespace daisy
