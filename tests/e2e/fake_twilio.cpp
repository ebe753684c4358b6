#include "fake_twilio.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <ctime>
#include <map>
#include <set>

namespace daisy::e2e {
namespace {
namespace json = boost::json;
using Request = FakeProvider::Request;
using Reply = FakeProvider::Reply;
using Params = std::vector<std::pair<std::string, std::string>>;

std::string hex(const unsigned char* bytes, std::size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += std::string{digits[bytes[i] >> 4], digits[bytes[i] & 15]};
  return out;
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> b(bytes);
  RAND_bytes(b.data(), static_cast<int>(b.size()));
  return hex(b.data(), b.size());
}

std::string b64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() + 0 && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

Params parse_form(std::string_view body) {
  Params params;
  while (!body.empty()) {
    std::size_t amp = body.find('&');
    std::string_view part = body.substr(0, amp);
    body.remove_prefix(amp == std::string_view::npos ? body.size() : amp + 1);
    std::size_t eq = part.find('=');
    params.emplace_back(decode(part.substr(0, eq)), eq == std::string_view::npos ? "" : decode(part.substr(eq + 1)));
  }
  return params;
}

std::string form(const Params& params) {
  std::string out;
  for (const auto& [k, v] : params)
    out += (out.empty() ? "" : "&") + daisy_e2e::url_encode(k) + "=" + daisy_e2e::url_encode(v);
  return out;
}

const std::string* find(const Params& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) return &v;
  }
  return nullptr;
}

bool is_e164(std::string_view n) {
  return n.size() >= 3 && n.size() <= 16 && n[0] == '+' && n[1] >= '1' && n[1] <= '9' &&
         std::all_of(n.begin() + 1, n.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string rfc2822_now(std::string* day) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  char d[16];
  std::strftime(d, sizeof d, "%Y-%m-%d", &tm);
  *day = d;
  return buf;
}

std::string signature(std::string_view token, std::string url, Params params) {
  std::sort(params.begin(), params.end());
  for (const auto& [k, v] : params) url += k + v;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha1(), token.data(), static_cast<int>(token.size()), reinterpret_cast<const unsigned char*>(url.data()),
       url.size(), out, &n);
  return b64(std::string_view(reinterpret_cast<const char*>(out), n));
}

json::object message_json(const FakeTwilio::Message& m, const std::string& account) {
  return {{"sid", m.sid},
          {"account_sid", account},
          {"to", m.to},
          {"from", m.from.empty() ? json::value(nullptr) : json::value(m.from)},
          {"messaging_service_sid",
           m.messaging_service_sid.empty() ? json::value(nullptr) : json::value(m.messaging_service_sid)},
          {"body", m.body},
          {"status", m.status},
          {"num_segments", "1"},
          {"direction", "outbound-api"},
          {"api_version", "2010-04-01"},
          {"date_created", m.date_created},
          {"date_updated", m.date_created},
          {"date_sent", nullptr},
          {"error_code", nullptr},
          {"error_message", nullptr},
          {"uri", "/2010-04-01/Accounts/" + account + "/Messages/" + m.sid + ".json"}};
}

}  // namespace

FakeTwilio::FakeTwilio() : account_sid_("AC" + random_hex(16)), auth_token_(random_hex(16)) {
  server_.set_fallback([this](const Request& request) { return handle(request); });
}

std::string FakeTwilio::base_url() const { return server_.url(""); }

void FakeTwilio::fail_next(int status, int count) {
  std::lock_guard lock(mu_);
  fail_ = Fault{status, count, {}};
}

void FakeTwilio::delay_next(std::chrono::milliseconds delay, int count) {
  std::lock_guard lock(mu_);
  delay_ = Fault{0, count, delay};
}

std::vector<FakeTwilio::Message> FakeTwilio::messages() const {
  std::lock_guard lock(mu_);
  return messages_;
}

std::size_t FakeTwilio::count(std::string_view kind) const {
  std::lock_guard lock(mu_);
  return static_cast<std::size_t>(
      std::count_if(calls_.begin(), calls_.end(), [&](const Call& c) { return c.kind == kind; }));
}

std::vector<FakeTwilio::Call> FakeTwilio::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

std::vector<std::string> FakeTwilio::errors() const {
  std::lock_guard lock(mu_);
  return errors_;
}

Reply FakeTwilio::refuse(std::string_view kind, int status, int code, std::string message, bool record) {
  json::object body{{"code", code},
                    {"message", message},
                    {"more_info", "https://www.twilio.com/docs/errors/" + std::to_string(code)},
                    {"status", status}};
  calls_.push_back({std::string(kind), status});
  if (record) errors_.push_back(std::string(kind) + ": " + message);
  return Reply{.status = status, .body = json::serialize(body), .content_type = "application/json"};
}

Reply FakeTwilio::handle(const Request& request) {
  std::lock_guard lock(mu_);
  std::string messages_path = "/2010-04-01/Accounts/" + account_sid_ + "/Messages.json";
  std::string kind = request.method == "POST" ? "send" : request.method == "GET" ? "list" : "other";
  std::string expected = "Basic " + b64(account_sid_ + ":" + auth_token_);
  if (request.header("Authorization") != expected) return refuse(kind, 401, 20003, "Authenticate", true);
  if (request.path != messages_path || kind == "other") {
    return refuse("other", 404, 20404, "The requested resource " + request.path + " was not found", true);
  }
  return kind == "send" ? send(request) : list(request);
}

Reply FakeTwilio::send(const Request& request) {
  if (fail_.remaining > 0) {
    --fail_.remaining;
    if (fail_.status == 429) return refuse("send", 429, 20429, "Too Many Requests", false);
    if (fail_.status == 400) return refuse("send", 400, 21610, "Attempt to send to unsubscribed recipient", false);
    return refuse("send", fail_.status, 20500, "Internal Server Error", false);
  }
  std::string type = request.header("Content-Type");
  if (type.substr(0, type.find(';')) != "application/x-www-form-urlencoded") {
    return refuse("send", 400, 20001, "Content-Type must be application/x-www-form-urlencoded", true);
  }
  Params params = parse_form(request.body);
  static const std::set<std::string> known{"To", "From", "MessagingServiceSid", "Body", "StatusCallback"};
  for (const auto& [k, v] : params) {
    if (!known.count(k)) return refuse("send", 400, 20001, "Unknown parameter " + k, true);
  }
  const std::string* to = find(params, "To");
  const std::string* body = find(params, "Body");
  const std::string* from = find(params, "From");
  const std::string* service = find(params, "MessagingServiceSid");
  if (!to || to->empty()) return refuse("send", 400, 21604, "A 'To' phone number is required.", true);
  if (!is_e164(*to))
    return refuse("send", 400, 21211, "The 'To' number " + *to + " is not a valid phone number.", true);
  if (!body || body->empty()) return refuse("send", 400, 21602, "Message body is required.", true);
  if ((from != nullptr) == (service != nullptr)) {
    return refuse("send", 400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required (exactly one).", true);
  }
  Message m;
  m.sid = "SM" + random_hex(16);
  m.to = *to;
  m.body = *body;
  if (from) m.from = *from;
  if (service) m.messaging_service_sid = *service;
  if (const std::string* cb = find(params, "StatusCallback")) m.status_callback = *cb;
  m.status = "queued";
  m.date_created = rfc2822_now(&m.date_sent);
  messages_.push_back(m);
  calls_.push_back({"send", 201});
  Reply reply{
      .status = 201, .body = json::serialize(message_json(m, account_sid_)), .content_type = "application/json"};
  if (delay_.remaining > 0) {
    --delay_.remaining;
    reply.delay = delay_.delay;
  }
  return reply;
}

Reply FakeTwilio::list(const Request& request) {
  Params query = parse_form(request.query);
  static const std::set<std::string> known{"To",       "From",     "DateSent>", "DateSent<",
                                           "DateSent", "PageSize", "Page",      "PageToken"};
  for (const auto& [k, v] : query) {
    if (!known.count(k)) return refuse("list", 400, 20001, "Unknown query parameter " + k, true);
  }
  const std::string* after = find(query, "DateSent>");
  if (after && (after->size() != 10 || (*after)[4] != '-' || (*after)[7] != '-')) {
    return refuse("list", 400, 20001, "DateSent>= must be YYYY-MM-DD", true);
  }
  const std::string* to = find(query, "To");
  const std::string* from = find(query, "From");
  json::array listed;
  for (auto it = messages_.rbegin(); it != messages_.rend(); ++it) {
    if (to && it->to != *to) continue;
    if (from && it->from != *from) continue;
    if (after && it->date_sent < *after) continue;
    listed.push_back(message_json(*it, account_sid_));
  }
  calls_.push_back({"list", 200});
  json::object page{{"messages", std::move(listed)}, {"page", 0}, {"page_size", 50}, {"next_page_uri", nullptr}};
  return Reply{.status = 200, .body = json::serialize(page), .content_type = "application/json"};
}

FakeTwilio::Callback FakeTwilio::status_callback(const Message& message, std::string_view status,
                                                 std::string_view error_code, Signing signing) const {
  Params params{{"MessageSid", message.sid},
                {"SmsSid", message.sid},
                {"MessageStatus", std::string(status)},
                {"SmsStatus", std::string(status)},
                {"AccountSid", account_sid_},
                {"From", message.from},
                {"To", message.to},
                {"ApiVersion", "2010-04-01"}};
  if (!error_code.empty()) params.emplace_back("ErrorCode", std::string(error_code));
  Callback cb;
  cb.url = message.status_callback;
  std::size_t scheme = cb.url.find("://");
  std::size_t path = scheme == std::string::npos ? std::string::npos : cb.url.find('/', scheme + 3);
  cb.target = path == std::string::npos ? "/" : cb.url.substr(path);
  cb.body = form(params);
  cb.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"User-Agent", "TwilioProxy/1.1"}};
  if (signing == Signing::correct)
    cb.headers.emplace_back("X-Twilio-Signature", signature(auth_token_, cb.url, params));
  if (signing == Signing::wrong)
    cb.headers.emplace_back("X-Twilio-Signature", signature("not-the-token", cb.url, params));
  return cb;
}

daisy_e2e::HttpResponse FakeTwilio::post_status(const Message& message, std::string_view status,
                                                std::string_view error_code, Signing signing) const {
  Callback cb = status_callback(message, status, error_code, signing);
  std::size_t colon = cb.url.rfind(':', cb.url.find('/', cb.url.find("://") + 3));
  int port = std::stoi(cb.url.substr(colon + 1));
  daisy_e2e::Client client(port);
  return client.request("POST", cb.target, cb.headers, cb.body);
}

}  // namespace daisy::e2e
