#pragma once
#include <string_view>

namespace daisy {
// docs/openapi.yaml as built into the binary.
std::string_view openapi_document();
// The same document as JSON (converted at build time; the console's API reference reads it).
std::string_view openapi_json_document();
}  // namespace daisy
