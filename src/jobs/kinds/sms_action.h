#pragma once
// SMS integrations (Twilio): each job sends one text message, its number and
// body rendered from the record, and then awaits Twilio's delivery status
// (POST /v1/integrations/{id}/sms-status, sms_status.h) until the
// integration's callback_timeout_s.
//
// - A template that cannot be rendered, a number that is not E.164 or a body
//   over 1600 characters ends the job at once (dead): no retry can help.
// - 429, 5xx and no answer fail the attempt (retried per the schedule); any
//   other 4xx is final (dead) with Twilio's code and message.
// - Never two messages for one record: an attempt that may follow a message
//   already sent (an earlier attempt got no definite answer: no reply, a 5xx,
//   or no record at all) first lists the messages sent to the number since
//   the day of the first attempt and takes the one with the same body.
// - The job awaits its delivery status from before the send (a status may
//   come before the send's reply); should none come in time, Twilio accepted
//   the message and the job succeeds, its output saying no status came. It
//   is never sent again for that.

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <variant>

#include "jobs/kinds/action_kind.h"
#include "jobs/kinds/twilio_api.h"

namespace daisy::jobs {

class SmsAction final : public ActionKind {
 public:
  explicit SmsAction(const ActionKindServices& services) : services_(services) {}
  boost::asio::awaitable<AttemptOutcome> deliver(const ActiveIntegration& integration, const JobRow& job) override;
  // No delivery status came in time: succeeded when Twilio had accepted the
  // message (the job's output has its sid); otherwise the send's outcome is
  // unknown, and the attempt has failed (the next one checks first).
  AttemptOutcome settle_unanswered(const ActiveIntegration& integration, const JobRow& job) override;
  void render_metrics(std::string& out) const override;

  struct Message {
    std::string to, body;
  };

 private:
  // The first attempt's day (YYYY-MM-DD) when this attempt may follow a
  // message already sent; "" when every earlier attempt had a definite answer.
  std::string day_to_check(const JobRow& job) const;
  // Lists what was sent since `day`: the outcome when the listing settles the
  // attempt (found the message, or failed), nullopt when nothing was sent.
  boost::asio::awaitable<std::optional<AttemptOutcome>> find_sent(const ActiveIntegration& integration,
                                                                  const JobRow& job, const Message& message,
                                                                  const std::string& day, AttemptOutcome outcome);
  boost::asio::awaitable<AttemptOutcome> send(const ActiveIntegration& integration, const JobRow& job,
                                              const Message& message, AttemptOutcome outcome);
  // Marks the job awaiting its status before the send; false when it could not.
  boost::asio::awaitable<bool> await_status_first(const ActiveIntegration& integration, const JobRow& job,
                                                  AttemptOutcome& outcome);
  AttemptOutcome sent_outcome(const ActiveIntegration& integration, const JobRow& job, const net::FetchResult& result,
                              AttemptOutcome outcome);
  // Times one request to Twilio.
  boost::asio::awaitable<net::FetchResult> call(net::FetchRequest request, AttemptOutcome& outcome);

  ActionKindServices services_;
  std::atomic<std::uint64_t> sent_{0}, found_{0}, refused_{0}, not_rendered_{0}, errors_{0};
};

// The message a job sends: its `to` and `body` rendered from the record,
// checked (E.164, 1600 characters); or why it cannot be sent.
std::variant<SmsAction::Message, std::string> render_sms(const SmsConfig& config, const JobRow& job,
                                                         std::string_view source_kind);

// The callback URL Twilio is given: {base}/v1/integrations/{id}/sms-status?job={job}.
std::string sms_status_url(std::string_view base, std::string_view integration_id, std::string_view job_id);

}  // namespace daisy::jobs
