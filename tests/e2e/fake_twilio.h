#pragma once
// FakeTwilio: a strict local stand-in for the parts of Twilio's Messages API
// (2010-04-01) daisy's sms action uses, for end-to-end tests that cannot
// reach Twilio. Written from Twilio's documentation, not from Daisy's code.
//
// Contract:
// - Serves on 127.0.0.1 through a FakeProvider, for one account
//   (account_sid(), auth_token()). Routes:
//     send  POST /2010-04-01/Accounts/{sid}/Messages.json
//     list  GET  /2010-04-01/Accounts/{sid}/Messages.json?To=&From=&DateSent>=YYYY-MM-DD[&PageSize=n]
//   anything else answers 404 (Twilio's error body, code 20404).
// - Each call is checked in this order, the first failure answering, with
//   Twilio's error body {"code","message","more_info","status"}: HTTP basic
//   auth account_sid:auth_token and the account in the path (401, 20003); an
//   injected fault (fail_next: 429 with code 20429, or 500); for a send, the
//   content type (form-urlencoded, else 400), To (400 21604) in E.164 (400
//   21211), Body (400 21602), exactly one of From and MessagingServiceSid
//   (400 21603); only known parameters. A send then takes effect (the message
//   is recorded, status "queued") and answers 201 with the message's JSON
//   (sid SM + 32 hex digits, status, to, from, body, date_created in RFC
//   2822, messaging_service_sid...), after the delay set by delay_next.
// - A listing answers {"messages":[...]} newest first, filtered by To, From
//   (when given) and DateSent>= (a date; messages' date_sent is their day of
//   creation, UTC).
// - errors() records every refusal a well-behaved client never gets
//   (malformed requests, unknown parameters, bad auth); injected faults are
//   not recorded.
// - status_callback() builds the callback Twilio would POST to a message's
//   StatusCallback, signed with the auth token (or wrongly, or not at all);
//   post_status() sends it.
//
// Thread-safe: one mutex guards the state.

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fake_provider.h"
#include "harness.h"

namespace daisy::e2e {

class FakeTwilio {
 public:
  struct Message {
    std::string sid, to, from, messaging_service_sid, body, status_callback, status, date_created, date_sent;
  };
  struct Call {
    std::string kind;  // "send", "list" or "other"
    int status;        // answered
  };
  enum class Signing { correct, wrong, none };
  struct Callback {
    std::string url, target;  // target: path and query, as sent to Daisy
    daisy_e2e::Headers headers;
    std::string body;
  };

  FakeTwilio();
  FakeTwilio(const FakeTwilio&) = delete;
  FakeTwilio& operator=(const FakeTwilio&) = delete;

  std::string base_url() const;  // "http://127.0.0.1:<port>": the config's api_base
  const std::string& account_sid() const { return account_sid_; }
  const std::string& auth_token() const { return auth_token_; }

  // The next `count` sends (after auth) answer `status` (429: code 20429;
  // 400: code 21610, an unsubscribed recipient; 5xx: code 20500) and send
  // nothing.
  void fail_next(int status, int count = 1);
  // The next `count` sends take effect at once but answer after `delay`.
  void delay_next(std::chrono::milliseconds delay, int count = 1);

  std::vector<Message> messages() const;
  std::size_t count(std::string_view kind) const;
  std::vector<Call> calls() const;
  std::vector<std::string> errors() const;

  // The callback Twilio would send for this message: MessageSid,
  // MessageStatus, (ErrorCode), AccountSid, From, To, ApiVersion, SmsSid,
  // SmsStatus, form-encoded and signed as `signing` says.
  Callback status_callback(const Message& message, std::string_view status, std::string_view error_code = "",
                           Signing signing = Signing::correct) const;
  // Sends it to the daisy listening on port (the URL's host and port are the callback's).
  daisy_e2e::HttpResponse post_status(const Message& message, std::string_view status, std::string_view error_code = "",
                                      Signing signing = Signing::correct) const;

 private:
  struct Fault {
    int status = 0, remaining = 0;
    std::chrono::milliseconds delay{0};
  };
  FakeProvider::Reply handle(const FakeProvider::Request& request);
  FakeProvider::Reply send(const FakeProvider::Request& request);
  FakeProvider::Reply list(const FakeProvider::Request& request);
  FakeProvider::Reply refuse(std::string_view kind, int status, int code, std::string message, bool record);

  std::string account_sid_, auth_token_;
  mutable std::mutex mu_;
  std::vector<Message> messages_;
  std::vector<Call> calls_;
  std::vector<std::string> errors_;
  Fault fail_, delay_;
  FakeProvider server_;  // last: destroyed first
};

}  // namespace daisy::e2e
