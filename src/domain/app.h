#pragma once
// A client application: the holder of an app token.

#include <string>

namespace daisy {

struct App {
  std::string id;          // UUIDv7
  std::string name;        // 1..200 characters
  std::string created_at;  // ISO 8601 UTC
  // Events of a type Daisy does not know: "accept" (the default) or "reject".
  std::string unknown_event_types = "accept";
};

// Validation of an app name; returns an empty string when valid, else the reason.
std::string check_app_name(std::string_view name);

}  // namespace daisy
