#include "jobs/kinds/twilio_api.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

#include "util/ascii.h"
#include "util/crypto.h"

namespace daisy::jobs {
namespace {
namespace json = boost::json;

std::string messages_url(const SmsConfig& config) {
  return config.api_base + "/2010-04-01/Accounts/" + percent_encode(config.account_sid) + "/Messages.json";
}

std::string form_encoded(const FormParams& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += percent_encode(name) + "=" + percent_encode(value);
  }
  return out;
}

net::FetchRequest authorized_request(const SmsConfig& config) {
  net::FetchRequest request;
  request.timeout = std::chrono::milliseconds(config.timeout_ms);
  request.max_bytes = 4u << 20;
  request.follow_redirects = false;
  request.headers.emplace_back("Authorization", "Basic " + base64(config.account_sid + ":" + config.auth_token));
  request.headers.emplace_back("Accept", "application/json");
  return request;
}

std::string string_field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return {};
  if (const auto* s = v->if_string()) return std::string(*s);
  return json::serialize(*v);
}

TwilioMessage message_of(const json::object& o) {
  return {string_field(o, "sid"), string_field(o, "status"), string_field(o, "error_code")};
}

}  // namespace

std::string twilio_signature(std::string_view auth_token, std::string_view url, FormParams params) {
  std::stable_sort(params.begin(), params.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string data(url);
  for (const auto& [name, value] : params) data.append(name).append(value);
  return base64(hmac_sha1(auth_token, data));
}

net::FetchRequest twilio_send_request(const SmsConfig& config, std::string_view to, std::string_view body,
                                      std::string_view status_callback) {
  net::FetchRequest request = authorized_request(config);
  request.url = messages_url(config);
  request.method = "POST";
  FormParams params{{"To", std::string(to)}};
  if (config.messaging_service_sid.empty()) {
    params.emplace_back("From", config.from);
  } else {
    params.emplace_back("MessagingServiceSid", config.messaging_service_sid);
  }
  params.emplace_back("Body", std::string(body));
  params.emplace_back("StatusCallback", std::string(status_callback));
  request.body = form_encoded(params);
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  return request;
}

net::FetchRequest twilio_list_request(const SmsConfig& config, std::string_view to, std::string_view day) {
  net::FetchRequest request = authorized_request(config);
  FormParams query{{"To", std::string(to)}};
  if (config.messaging_service_sid.empty()) query.emplace_back("From", config.from);
  query.emplace_back("DateSent>", std::string(day));  // DateSent>=day
  query.emplace_back("PageSize", "1000");
  request.url = messages_url(config) + "?" + form_encoded(query);
  return request;
}

std::optional<TwilioMessage> twilio_sent_message(std::string_view reply) {
  json::error_code ec;
  json::value v = json::parse(reply, ec);
  if (ec || !v.is_object()) return std::nullopt;
  TwilioMessage message = message_of(v.as_object());
  if (message.sid.empty()) return std::nullopt;
  return message;
}

std::optional<TwilioMessage> twilio_find_message(std::string_view listing, std::string_view to, std::string_view body) {
  json::error_code ec;
  json::value v = json::parse(listing, ec);
  const json::value* messages = !ec && v.is_object() ? v.as_object().if_contains("messages") : nullptr;
  if (!messages || !messages->is_array()) return std::nullopt;
  for (const json::value& m : messages->as_array()) {
    if (!m.is_object()) continue;
    const json::object& o = m.as_object();
    if (string_field(o, "to") == to && string_field(o, "body") == body && !string_field(o, "sid").empty()) {
      return message_of(o);
    }
  }
  return std::nullopt;
}

std::string twilio_error_text(long status, std::string_view reply) {
  std::string text = "HTTP " + std::to_string(status);
  json::error_code ec;
  json::value v = json::parse(reply, ec);
  if (ec || !v.is_object()) return reply.empty() ? text : text + ": " + std::string(reply.substr(0, 300));
  const json::object& o = v.as_object();
  if (std::string code = string_field(o, "code"); !code.empty()) text += ": code " + code;
  if (std::string message = string_field(o, "message"); !message.empty()) text += ": " + message;
  return text;
}

}  // namespace daisy::jobs
