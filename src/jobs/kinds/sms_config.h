#pragma once
// An SMS integration's config, and the rules of the sms kind: each record
// sends one text message through Twilio's Messages API, its number and body
// rendered from the record (sms_template.h).

#include <boost/json/object.hpp>

#include <string>

#include "domain/integration.h"
#include "jobs/kinds/sms_template.h"

namespace daisy::jobs {

struct SmsConfig final : KindConfig {
  std::string provider = "twilio";    // the only one
  std::string account_sid;            // AC + 32 hex digits
  std::string auth_token;             // a secret: shown as "***"
  std::string from;                   // the sender, or else:
  std::string messaging_service_sid;  // MG + 32 hex digits
  std::string api_base = "https://api.twilio.com";
  SmsTemplate to, body;
  int callback_timeout_s = 3600;  // how long a sent message awaits its delivery status
  int timeout_ms = 10000;         // one request to Twilio

  boost::json::object to_json() const override;
  // As replies show it: auth_token is "***".
  boost::json::object to_shown_json() const override;
};

// The longest body Twilio takes, in characters.
inline constexpr std::size_t sms_max_body_characters = 1600;

// Async only; config {provider, account_sid, auth_token, from |
// messaging_service_sid, api_base, to, body, callback_timeout_s, timeout_ms}.
IntegrationKindRules sms_kind_rules();

}  // namespace daisy::jobs
