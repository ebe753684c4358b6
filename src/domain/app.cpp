#include "domain/app.h"

#include "util/utf8.h"

namespace daisy {

std::string check_app_name(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > 200) return "must be at most 200 bytes";
  if (has_hidden_control(name)) return "must not contain control or bidirectional formatting characters";
  return {};
}

}  // namespace daisy
