#pragma once
#include <string_view>

namespace daisy {
// docs/openapi.yaml as built into the binary.
std::string_view openapi_document();
}  // namespace daisy
