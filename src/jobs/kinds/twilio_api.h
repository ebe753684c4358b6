#pragma once
// The parts of Twilio's Messages API (2010-04-01) the sms kind speaks: send
// a message, list messages sent, and check the signature of a status
// callback. Requests only; the action sends them (sms_action.h).

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jobs/kinds/sms_config.h"
#include "net/fetcher.h"

namespace daisy::jobs {

using FormParams = std::vector<std::pair<std::string, std::string>>;

// X-Twilio-Signature of a request Twilio made: base64(HMAC-SHA1(auth_token,
// url + each POST parameter sorted by name, its name then its value)).
std::string twilio_signature(std::string_view auth_token, std::string_view url, FormParams params);

// POST {api_base}/2010-04-01/Accounts/{sid}/Messages.json, form-encoded.
net::FetchRequest twilio_send_request(const SmsConfig& config, std::string_view to, std::string_view body,
                                      std::string_view status_callback);

// GET .../Messages.json?To=&From=&DateSent>=day (no From with a messaging
// service); day: YYYY-MM-DD, UTC.
net::FetchRequest twilio_list_request(const SmsConfig& config, std::string_view to, std::string_view day);

// A message as Twilio describes it (only what the kind reads).
struct TwilioMessage {
  std::string sid, status, error_code;
};

// The message in a 2xx reply to a send; nullopt without a sid.
std::optional<TwilioMessage> twilio_sent_message(std::string_view reply);

// The newest message of a listing to `to` whose body is `body`; nullopt when none.
std::optional<TwilioMessage> twilio_find_message(std::string_view listing, std::string_view to, std::string_view body);

// Twilio's error reply as an attempt keeps it: "HTTP 400: code 21211: <message>".
std::string twilio_error_text(long status, std::string_view reply);

}  // namespace daisy::jobs
