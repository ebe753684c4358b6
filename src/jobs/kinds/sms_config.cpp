#include "jobs/kinds/sms_config.h"

#include <algorithm>
#include <memory>
#include <variant>

#include "domain/json_fields.h"

namespace daisy::jobs {
namespace {
namespace json = boost::json;

// Twilio's ids: a two-letter prefix, then 32 hex digits.
bool is_twilio_sid(std::string_view sid, std::string_view prefix) {
  return sid.size() == 34 && sid.substr(0, 2) == prefix && std::all_of(sid.begin() + 2, sid.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

void read_template(const json::object& config, std::string_view key, std::size_t max_size, SmsTemplate& out,
                   std::vector<FieldError>& errors) {
  std::string text;
  std::string field = "config." + std::string(key);
  if (!read_string(config, key, text, errors, "config.")) return;
  if (text.empty() || text.size() > max_size) {
    errors.push_back({field, "is required: a template of 1 to " + std::to_string(max_size) + " bytes"});
    return;
  }
  auto parsed = SmsTemplate::parse(text);
  if (auto* why = std::get_if<std::string>(&parsed)) {
    errors.push_back({field, "is not a valid template: " + *why});
    return;
  }
  out = std::move(std::get<SmsTemplate>(parsed));
}

void read_credentials(const json::object& config, SmsConfig& s, std::vector<FieldError>& errors) {
  read_string(config, "provider", s.provider, errors, "config.");
  if (s.provider != "twilio") errors.push_back({"config.provider", "must be \"twilio\" (the only provider)"});
  read_string(config, "account_sid", s.account_sid, errors, "config.");
  if (!is_twilio_sid(s.account_sid, "AC")) {
    errors.push_back({"config.account_sid", "is required: the Twilio account's SID (AC and 32 hex digits)"});
  }
  read_string(config, "auth_token", s.auth_token, errors, "config.");
  if (s.auth_token == "***") {
    errors.push_back({"config.auth_token", "is a secret Daisy never shows back: send the auth token again"});
  } else if (s.auth_token.empty() || s.auth_token.size() > 256) {
    errors.push_back({"config.auth_token", "is required: the Twilio account's auth token"});
  }
}

void read_sender(const json::object& config, SmsConfig& s, std::vector<FieldError>& errors) {
  read_string(config, "from", s.from, errors, "config.");
  read_string(config, "messaging_service_sid", s.messaging_service_sid, errors, "config.");
  if (s.from.empty() == s.messaging_service_sid.empty()) {
    errors.push_back({"config.from", "give exactly one of from (the sender) and messaging_service_sid"});
  } else if (!s.messaging_service_sid.empty() && !is_twilio_sid(s.messaging_service_sid, "MG")) {
    errors.push_back({"config.messaging_service_sid", "must be a messaging service's SID (MG and 32 hex digits)"});
  } else if (s.from.size() > 64 ||
             !std::all_of(s.from.begin(), s.from.end(), [](char c) { return c > ' ' && c < 127; })) {
    errors.push_back({"config.from", "must be a phone number in E.164 (+15017122661) or a sender id"});
  }
}

std::shared_ptr<const KindConfig> read_sms_config(const json::object& config, bool /*sync: never*/,
                                                  std::vector<FieldError>& errors) {
  std::size_t errors_before = errors.size();
  auto s = std::make_shared<SmsConfig>();
  reject_unknown_fields(config,
                        {"provider", "account_sid", "auth_token", "from", "messaging_service_sid", "api_base", "to",
                         "body", "callback_timeout_s", "timeout_ms"},
                        errors, "config.");
  read_credentials(config, *s, errors);
  read_sender(config, *s, errors);
  read_string(config, "api_base", s->api_base, errors, "config.");
  while (!s->api_base.empty() && s->api_base.back() == '/') s->api_base.pop_back();
  if (s->api_base.size() > 2048 || !is_http_url(s->api_base)) {
    errors.push_back({"config.api_base", "must be an absolute http:// or https:// URL"});
  }
  read_template(config, "to", 200, s->to, errors);
  read_template(config, "body", 8000, s->body, errors);
  read_int(config, "callback_timeout_s", 1, 7 * 24 * 3600, s->callback_timeout_s, errors, "config.");
  read_int(config, "timeout_ms", 100, 60000, s->timeout_ms, errors, "config.");
  if (errors.size() > errors_before) return nullptr;
  return s;
}

}  // namespace

json::object SmsConfig::to_json() const {
  json::object c;
  c["provider"] = provider;
  c["account_sid"] = account_sid;
  c["auth_token"] = auth_token;
  if (!from.empty()) c["from"] = from;
  if (!messaging_service_sid.empty()) c["messaging_service_sid"] = messaging_service_sid;
  c["api_base"] = api_base;
  c["to"] = to.text();
  c["body"] = body.text();
  c["callback_timeout_s"] = callback_timeout_s;
  c["timeout_ms"] = timeout_ms;
  return c;
}

json::object SmsConfig::to_shown_json() const {
  json::object c = to_json();
  c["auth_token"] = "***";
  return c;
}

IntegrationKindRules sms_kind_rules() {
  return {.type = "sms", .can_be_sync = false, .signs_with_secret = false, .read_config = read_sms_config};
}

}  // namespace daisy::jobs
