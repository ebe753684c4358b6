#pragma once
// An integration: what Daisy does after a response or an event lands (call a
// webhook, publish to Redis for a microservice that calls back...). It is
// attached to one form (responses) or one app (events), names the triggers it
// runs on, and has a kind, whose rules (jobs/kinds/) read its config.

#include <boost/json/object.hpp>

#include <memory>
#include <optional>
#include <span>
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

// A kind's configuration once read and checked. Each kind of integration
// (jobs/kinds/) defines its own; the definition holds it without knowing it.
class KindConfig {
 public:
  virtual ~KindConfig() = default;
  // The config as stored, its defaults filled in.
  virtual boost::json::object to_json() const = 0;
  // The config as replies show it: the same, but secrets (a key) as "***".
  virtual boost::json::object to_shown_json() const { return to_json(); }
};

// What a definition needs to know of a kind; jobs/kinds/ lists them
// (integration_kinds()). read_config reads and checks a whole config for a
// sync or async integration, naming each bad field "config.<name>"; it
// returns null when it found errors.
struct IntegrationKindRules {
  std::string_view type;
  bool can_be_sync = false;        // may answer within the request that stored the record (mode "sync")
  bool signs_with_secret = false;  // has a signing secret (made at creation, rotated through the API)
  std::shared_ptr<const KindConfig> (*read_config)(const boost::json::object& config, bool sync,
                                                   std::vector<FieldError>& errors) = nullptr;
};
using IntegrationKinds = std::span<const IntegrationKindRules>;
const IntegrationKindRules* find_kind(IntegrationKinds kinds, std::string_view type);

struct IntegrationDefinition {
  std::string name;         // 1..200 characters
  std::string source_kind;  // "form" or "app"
  std::string source_id;
  std::vector<std::string> triggers;
  std::string type;                          // one of the kinds (IntegrationKindRules::type)
  std::string mode = "async";                // "async" or "sync" (kinds that can_be_sync only)
  std::shared_ptr<const KindConfig> config;  // read by the kind's rules
  // Delay before each attempt, in seconds: the first is the delay of the
  // first attempt (0: at once); after the last the job is dead.
  std::vector<int> retry_schedule_s;
  bool enabled = true;

  bool runs_on(std::string_view trigger) const;
  // The kind's own config type; null when config is of another kind.
  template <class Config>
  const Config* config_as() const {
    return dynamic_cast<const Config*>(config.get());
  }
  // name, source, on, type, mode, config, retry, enabled: the stored form.
  boost::json::object to_json() const;
  // The same as replies show it (the config's secrets as "***").
  boost::json::object to_shown_json() const;
};

// Daisy's default retry schedule: at once, 5 s, 30 s, 2 min, 10 min, 30 min,
// 1 h, 3 h, 6 h, 12 h, then dead.
const std::vector<int>& default_retry_schedule();

// Validates a whole definition (POST) or a change to one (PATCH: only the
// fields present replace those of `base`; source and type cannot change),
// its type one of `kinds`, whose rules read its config. Errors name each bad
// field ("config.url", "retry.schedule_s[2]"...).
std::variant<IntegrationDefinition, std::vector<FieldError>> parse_integration_definition(
    const boost::json::object& body, IntegrationKinds kinds, const IntegrationDefinition* base = nullptr);

// Reads a stored definition (the JSON of to_json); nullopt when unreadable
// (or of a kind not in `kinds`).
std::optional<IntegrationDefinition> integration_definition_from_json(std::string_view text, IntegrationKinds kinds);

}  // namespace daisy
