#include "domain/app.h"

namespace daisy {

std::string check_app_name(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > 200) return "must be at most 200 bytes";
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return "must not contain control characters";
  }
  return {};
}

}  // namespace daisy
