#include "domain/integration.h"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>

#include "domain/json_fields.h"
#include "util/ids.h"

namespace daisy {
namespace json = boost::json;

namespace {

constexpr int max_retry_delay_s = 7 * 24 * 3600;

bool is_redis_url(const std::string& url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  return parsed && parsed->scheme() == "redis" && !parsed->host().empty();
}

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

void read_webhook_config(const json::object& config, WebhookConfig& w, bool sync, std::vector<FieldError>& errors) {
  reject_unknown_fields(config, {"url", "headers", "timeout_ms", "max_per_second", "max_in_flight"}, errors, "config.");
  read_string(config, "url", w.url, errors, "config.");
  if (w.url.empty()) {
    errors.push_back({"config.url", "is required (an http:// or https:// URL)"});
  } else if (w.url.size() > 2048 || !is_http_url(w.url)) {
    errors.push_back({"config.url", "must be an absolute http:// or https:// URL"});
  }
  read_headers(config, "headers", w.headers, errors, "config.");
  for (const auto& [name, value] : w.headers) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower.rfind("webhook-", 0) == 0 || lower == "content-type" || lower == "content-length" || lower == "host") {
      errors.push_back({"config.headers." + name, "is set by Daisy and cannot be replaced"});
    }
  }
  if (!config.contains("timeout_ms") && sync) w.timeout_ms = std::min(w.timeout_ms, 2000);
  read_int(config, "timeout_ms", 100, sync ? 30000 : 120000, w.timeout_ms, errors, "config.");
  read_int(config, "max_per_second", 1, 100000, w.max_per_second, errors, "config.");
  read_int(config, "max_in_flight", 1, 1000, w.max_in_flight, errors, "config.");
}

void read_redis_config(const json::object& config, RedisConfig& r, std::vector<FieldError>& errors) {
  reject_unknown_fields(config, {"url", "channel", "callback_timeout_s"}, errors, "config.");
  read_string(config, "url", r.url, errors, "config.");
  if (r.url.empty()) {
    errors.push_back({"config.url", "is required (a redis://host:port URL)"});
  } else if (r.url.size() > 2048 || !is_redis_url(r.url)) {
    errors.push_back({"config.url", "must be a redis://[:password@]host[:port][/db] URL"});
  }
  read_string(config, "channel", r.channel, errors, "config.");
  if (r.channel.empty() || r.channel.size() > 200) {
    errors.push_back({"config.channel", "is required: 1 to 200 characters"});
  }
  read_int(config, "callback_timeout_s", 1, 86400, r.callback_timeout_s, errors, "config.");
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

json::object IntegrationDefinition::config_json() const {
  json::object c;
  if (type == "webhook") {
    c["url"] = webhook.url;
    json::object h;
    for (const auto& [k, v] : webhook.headers) h[k] = v;
    c["headers"] = std::move(h);
    c["timeout_ms"] = webhook.timeout_ms;
    if (webhook.max_per_second > 0) c["max_per_second"] = webhook.max_per_second;
    if (webhook.max_in_flight > 0) c["max_in_flight"] = webhook.max_in_flight;
  } else {
    c["url"] = redis.url;
    c["channel"] = redis.channel;
    c["callback_timeout_s"] = redis.callback_timeout_s;
  }
  return c;
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
  o["config"] = config_json();
  json::array schedule;
  for (int s : retry_schedule_s) schedule.emplace_back(s);
  o["retry"] = json::object{{"schedule_s", std::move(schedule)}};
  o["enabled"] = enabled;
  return o;
}

std::variant<IntegrationDefinition, std::vector<FieldError>> parse_integration_definition(
    const json::object& body, const IntegrationDefinition* base) {
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
  if (creating) {
    read_string(body, "type", d.type, errors);
    if (d.type != "webhook" && d.type != "redis") errors.push_back({"type", "is required: webhook or redis"});
  } else if (body.contains("type")) {
    errors.push_back({"type", "cannot be changed: create another integration"});
  }
  if (read_string(body, "mode", d.mode, errors) || creating) {
    if (d.mode != "async" && d.mode != "sync") {
      errors.push_back({"mode", "must be async or sync"});
    } else if (d.mode == "sync" && d.type == "redis") {
      errors.push_back(
          {"mode", "must be async for a redis integration (only webhooks can answer within the submission)"});
    }
  }
  read_triggers(body, d, errors);
  if (const json::value* config = body.if_contains("config")) {
    if (!config->is_object()) {
      errors.push_back({"config", "must be an object"});
    } else if (d.type == "webhook") {
      // A change replaces the whole config, as a create sets it.
      d.webhook = WebhookConfig{};
      read_webhook_config(config->as_object(), d.webhook, d.mode == "sync", errors);
    } else if (d.type == "redis") {
      d.redis = RedisConfig{};
      read_redis_config(config->as_object(), d.redis, errors);
    }
  } else if (creating) {
    errors.push_back({"config", "is required"});
  }
  // A change of mode alone keeps the config: its timeout must still suit the mode.
  if (d.type == "webhook" && d.mode == "sync" && d.webhook.timeout_ms > 30000 && !body.contains("config")) {
    errors.push_back(
        {"config.timeout_ms", "must be at most 30000 for a sync webhook: send a config with the new mode"});
  }
  read_retry(body, d, errors);
  read_bool(body, "enabled", d.enabled, errors);
  if (!errors.empty()) return errors;
  return d;
}

std::optional<IntegrationDefinition> integration_definition_from_json(std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  auto parsed = parse_integration_definition(v.as_object());
  if (auto* d = std::get_if<IntegrationDefinition>(&parsed)) return std::move(*d);
  return std::nullopt;
}

}  // namespace daisy
