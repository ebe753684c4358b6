#pragma once
// An integration: what Daisy does after a response or an event lands (call a
// webhook, publish to Redis for a microservice that calls back). It is
// attached to one form (responses) or one app (events) and names the triggers
// it runs on.

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "domain/field_error.h"

namespace daisy {

inline constexpr std::string_view trigger_response_created = "response.created";
inline constexpr std::string_view trigger_response_updated = "response.updated";
inline constexpr std::string_view trigger_event_created = "event.created";

struct WebhookConfig {
  std::string url;  // http:// or https://
  std::vector<std::pair<std::string, std::string>> headers;
  int timeout_ms = 15000;  // async default; a sync webhook's default is 2000
  int max_per_second = 0;  // 0: no limit
  int max_in_flight = 0;   // 0: the runner's own limit
};

struct RedisConfig {
  std::string url;      // redis://[:password@]host[:port][/db]
  std::string channel;  // where jobs are published
  int callback_timeout_s = 600;
};

struct IntegrationDefinition {
  std::string name;         // 1..200 characters
  std::string source_kind;  // "form" or "app"
  std::string source_id;
  std::vector<std::string> triggers;
  std::string type;            // "webhook" or "redis"
  std::string mode = "async";  // "async" or "sync" (webhook only)
  WebhookConfig webhook;
  RedisConfig redis;
  // Delay before each attempt, in seconds: the first is the delay of the
  // first attempt (0: at once); after the last the job is dead.
  std::vector<int> retry_schedule_s;
  bool enabled = true;

  bool runs_on(std::string_view trigger) const;
  boost::json::object config_json() const;
  // name, source, on, type, mode, config, retry, enabled: the stored and returned form.
  boost::json::object to_json() const;
};

// Daisy's default retry schedule: at once, 5 s, 30 s, 2 min, 10 min, 30 min,
// 1 h, 3 h, 6 h, 12 h, then dead.
const std::vector<int>& default_retry_schedule();

// Validates a whole definition (POST) or a change to one (PATCH: only the
// fields present replace those of `base`; source and type cannot change).
// Errors name each bad field ("config.url", "retry.schedule_s[2]"...).
std::variant<IntegrationDefinition, std::vector<FieldError>> parse_integration_definition(
    const boost::json::object& body, const IntegrationDefinition* base = nullptr);

// Reads a stored definition (the JSON of to_json); nullopt when unreadable.
std::optional<IntegrationDefinition> integration_definition_from_json(std::string_view text);

}  // namespace daisy
