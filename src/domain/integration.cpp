#include "domain/integration.h"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>

#include "domain/json_fields.h"
#include "util/ids.h"

namespace daisy {
namespace json = boost::json;

namespace {

constexpr int max_retry_delay_s = 7 * 24 * 3600;

// "source": {"form_id"} or {"app_id"}.
void read_source(const json::object& body, IntegrationDefinition& d, std::vector<FieldError>& errors) {
  const json::value* v = body.if_contains("source");
  if (!v) {
    errors.push_back({"source", "is required: {\"form_id\": ...} or {\"app_id\": ...}"});
    return;
  }
  if (!v->is_object() || v->as_object().size() != 1) {
    errors.push_back({"source", "must be {\"form_id\": ...} or {\"app_id\": ...}"});
    return;
  }
  const auto& source = v->as_object();
  for (std::string_view kind : {"form", "app"}) {
    std::string key = std::string(kind) + "_id";
    if (const json::value* id = source.if_contains(key)) {
      if (!id->is_string() || !is_uuid(id->as_string())) {
        errors.push_back({"source." + key, "must be the id of an existing " + std::string(kind)});
        return;
      }
      d.source_kind = kind;
      d.source_id = lower_case_uuid(id->as_string());
      return;
    }
  }
  errors.push_back({"source", "must be {\"form_id\": ...} or {\"app_id\": ...}"});
}

void read_triggers(const json::object& body, IntegrationDefinition& d, std::vector<FieldError>& errors) {
  std::vector<std::string_view> allowed;
  if (d.source_kind == "form") allowed = {trigger_response_created, trigger_response_updated};
  if (d.source_kind == "app") allowed = {trigger_event_created};
  const json::value* v = body.if_contains("on");
  if (!v) {
    if (d.triggers.empty() && !allowed.empty()) d.triggers = {std::string(allowed.front())};
    return;
  }
  std::string choices;
  for (auto a : allowed) choices += (choices.empty() ? "" : ", ") + std::string(a);
  if (!v->is_array() || v->as_array().empty()) {
    errors.push_back({"on", "must be a non-empty array of triggers: " + choices});
    return;
  }
  std::vector<std::string> triggers;
  for (std::size_t i = 0; i < v->as_array().size(); ++i) {
    const json::value& t = v->as_array()[i];
    if (!t.is_string() || std::find(allowed.begin(), allowed.end(), std::string_view(t.as_string())) == allowed.end()) {
      errors.push_back({"on[" + std::to_string(i) + "]", "must be one of: " + choices});
      return;
    }
    if (std::find(triggers.begin(), triggers.end(), t.as_string()) == triggers.end()) {
      triggers.emplace_back(t.as_string());
    }
  }
  d.triggers = std::move(triggers);
}

// "a, b or c": the kinds' names (those that can be sync only, when asked).
std::string one_of(IntegrationKinds kinds, bool sync_only) {
  std::vector<std::string_view> names;
  for (const auto& k : kinds) {
    if (!sync_only || k.can_be_sync) names.push_back(k.type);
  }
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += i + 1 == names.size() ? " or " : ", ";
    text += names[i];
  }
  return text;
}

void read_type_and_mode(const json::object& body, bool creating, IntegrationKinds kinds, IntegrationDefinition& d,
                        std::vector<FieldError>& errors) {
  if (creating) {
    read_string(body, "type", d.type, errors);
    if (!find_kind(kinds, d.type)) errors.push_back({"type", "is required: " + one_of(kinds, false)});
  } else if (body.contains("type")) {
    errors.push_back({"type", "cannot be changed: create another integration"});
  }
  if (read_string(body, "mode", d.mode, errors) || creating) {
    const IntegrationKindRules* kind = find_kind(kinds, d.type);
    if (d.mode != "async" && d.mode != "sync") {
      errors.push_back({"mode", "must be async or sync"});
    } else if (d.mode == "sync" && kind && !kind->can_be_sync) {
      errors.push_back({"mode", "must be async for a " + d.type + " integration (only " + one_of(kinds, true) +
                                    " integrations can answer within the submission)"});
    }
  }
}

// A create reads the config; a change with a config replaces it whole; a
// change of mode alone checks the kept config again under the new mode.
void read_config(const json::object& body, bool creating, IntegrationKinds kinds, IntegrationDefinition& d,
                 std::vector<FieldError>& errors) {
  const IntegrationKindRules* kind = find_kind(kinds, d.type);
  const json::value* config = body.if_contains("config");
  bool sync = d.mode == "sync";
  if (config) {
    if (!config->is_object()) {
      errors.push_back({"config", "must be an object"});
    } else if (kind) {
      d.config = kind->read_config(config->as_object(), sync, errors);
    }
  } else if (creating) {
    errors.push_back({"config", "is required"});
  } else if (kind && d.config && body.contains("mode")) {
    std::vector<FieldError> kept;
    kind->read_config(d.config->to_json(), sync, kept);
    for (auto& e : kept) {
      errors.push_back({e.field, e.message + " for a " + d.mode + " " + d.type + ": send a config with the new mode"});
    }
  }
}

void read_retry(const json::object& body, IntegrationDefinition& d, std::vector<FieldError>& errors) {
  const json::value* v = body.if_contains("retry");
  if (!v) return;
  if (!v->is_object()) {
    errors.push_back({"retry", "must be {\"schedule_s\": [delays in seconds]}"});
    return;
  }
  reject_unknown_fields(v->as_object(), {"schedule_s"}, errors, "retry.");
  const json::value* s = v->as_object().if_contains("schedule_s");
  if (!s || !s->is_array() || s->as_array().empty() || s->as_array().size() > 50) {
    errors.push_back({"retry.schedule_s", "must be an array of 1 to 50 delays in seconds"});
    return;
  }
  std::vector<int> schedule;
  for (std::size_t i = 0; i < s->as_array().size(); ++i) {
    const json::value& n = s->as_array()[i];
    // Boost.JSON keeps integers up to INT64_MAX as int64; larger ones are out of range anyway.
    std::int64_t delay = n.is_int64() ? n.as_int64() : -1;
    if (delay < 0 || delay > max_retry_delay_s) {
      errors.push_back({"retry.schedule_s[" + std::to_string(i) + "]",
                        "must be a whole number of seconds from 0 to " + std::to_string(max_retry_delay_s)});
      return;
    }
    schedule.push_back(static_cast<int>(delay));
  }
  d.retry_schedule_s = std::move(schedule);
}

}  // namespace

const std::vector<int>& default_retry_schedule() {
  static const std::vector<int> schedule = {0, 5, 30, 120, 600, 1800, 3600, 10800, 21600, 43200};
  return schedule;
}

bool IntegrationDefinition::runs_on(std::string_view trigger) const {
  return std::find(triggers.begin(), triggers.end(), trigger) != triggers.end();
}

const IntegrationKindRules* find_kind(IntegrationKinds kinds, std::string_view type) {
  for (const auto& k : kinds) {
    if (k.type == type) return &k;
  }
  return nullptr;
}

json::object IntegrationDefinition::to_json() const {
  json::object o;
  o["name"] = name;
  o["source"] = json::object{{source_kind + "_id", source_id}};
  json::array on;
  for (const auto& t : triggers) on.emplace_back(t);
  o["on"] = std::move(on);
  o["type"] = type;
  o["mode"] = mode;
  o["config"] = config ? config->to_json() : json::object{};
  json::array schedule;
  for (int s : retry_schedule_s) schedule.emplace_back(s);
  o["retry"] = json::object{{"schedule_s", std::move(schedule)}};
  o["enabled"] = enabled;
  return o;
}

json::object IntegrationDefinition::to_shown_json() const {
  json::object o = to_json();
  o["config"] = config ? config->to_shown_json() : json::object{};
  return o;
}

std::variant<IntegrationDefinition, std::vector<FieldError>> parse_integration_definition(
    const json::object& body, IntegrationKinds kinds, const IntegrationDefinition* base) {
  std::vector<FieldError> errors;
  bool creating = base == nullptr;
  IntegrationDefinition d = base ? *base : IntegrationDefinition{};
  if (creating) d.retry_schedule_s = default_retry_schedule();
  reject_unknown_fields(body, {"name", "source", "on", "type", "mode", "config", "retry", "enabled"}, errors);

  if (read_string(body, "name", d.name, errors) || creating) {
    if (d.name.empty() || d.name.size() > 200) errors.push_back({"name", "is required: 1 to 200 characters"});
  }
  if (creating) {
    read_source(body, d, errors);
  } else if (body.contains("source")) {
    errors.push_back({"source", "cannot be changed: create another integration"});
  }
  read_type_and_mode(body, creating, kinds, d, errors);
  read_triggers(body, d, errors);
  read_config(body, creating, kinds, d, errors);
  read_retry(body, d, errors);
  read_bool(body, "enabled", d.enabled, errors);
  if (!errors.empty()) return errors;
  return d;
}

std::optional<IntegrationDefinition> integration_definition_from_json(std::string_view text, IntegrationKinds kinds) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  auto parsed = parse_integration_definition(v.as_object(), kinds);
  if (auto* d = std::get_if<IntegrationDefinition>(&parsed)) return std::move(*d);
  return std::nullopt;
}

}  // namespace daisy
