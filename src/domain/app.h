#pragma once
// A client application: the holder of an app token and a publishable key.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace daisy {

// What an app's publishable key may do, and from where (issue 22). The key
// is not a secret: pages carry it, so it only sends events and responses.
struct AppAccess {
  std::string publishable_key;               // "dpk_..."; empty when the app has none
  std::vector<std::string> allowed_origins;  // "https://www.example.com", "https://*.example.com"
  std::vector<std::string> forms;            // ids of the forms the key may submit responses to
  std::int64_t events_per_second = 1000;     // the key's token bucket
  std::int64_t burst = 2000;
};

struct App {
  std::string id;          // UUIDv7
  std::string name;        // 1..200 characters
  std::string created_at;  // ISO 8601 UTC
  // Events of a type Daisy does not know: "accept" (the default) or "reject".
  std::string unknown_event_types = "accept";
  AppAccess access{};
};

constexpr std::size_t max_allowed_origins = 100;
constexpr std::size_t max_app_forms = 1000;
constexpr std::int64_t max_events_per_second = 1000000;

// Validation of an app name; returns an empty string when valid, else the reason.
std::string check_app_name(std::string_view name);

// An allowed origin as configured: "http" or "https", "://", a host (its first
// label may be "*", standing for one or more labels), an optional port; no
// path. Returns an empty string when valid, else the reason.
std::string check_origin_pattern(std::string_view pattern);

// Whether a request's Origin header value matches a pattern. Scheme and host
// compare case-insensitively; "https://*.example.com" matches
// "https://a.example.com" and "https://a.b.example.com", not "https://example.com".
bool origin_matches(std::string_view pattern, std::string_view origin);

// The stored form of a list of origins or form ids: joined by spaces (neither
// may contain one).
std::string join_words(const std::vector<std::string>& words);
std::vector<std::string> split_words(std::string_view text);

}  // namespace daisy
