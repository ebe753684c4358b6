#include "jobs/kinds/sms_action.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <utility>

#include "jobs/kinds/sms_status.h"
#include "jobs/retry_policy.h"
#include "util/ascii.h"
#include "util/time.h"

namespace daisy::jobs {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

using Rendered = std::variant<SmsAction::Message, std::string>;

Rendered why_not(std::string why) { return Rendered(std::in_place_index<1>, std::move(why)); }

// Ends an attempt that cannot help: the job is dead, nothing was sent.
AttemptOutcome refused(AttemptOutcome outcome, std::string why) {
  outcome.attempt.outcome = "refused";
  outcome.attempt.error = error_excerpt(why);
  outcome.status = "dead";
  return outcome;
}

// The job awaits its delivery status, the message's sid in its output.
AttemptOutcome awaiting_status(AttemptOutcome outcome, const std::string& sid, int timeout_s) {
  outcome.attempt.outcome = "awaiting_callback";
  outcome.status = "awaiting_callback";
  outcome.output = json::serialize(json::object{{"sid", sid}});
  outcome.due_ms = now_ms() + std::int64_t{timeout_s} * 1000;
  return outcome;
}

// A failed request to Twilio: retried when Twilio is busy or failing (429,
// 5xx, no answer), dead otherwise.
AttemptOutcome request_failed(const ActiveIntegration& integration, const JobRow& job, const net::FetchResult& result,
                              AttemptOutcome outcome, std::string_view what) {
  outcome.attempt.http_status = static_cast<int>(result.status);
  bool transient = !result.error.empty() || result.status == 429 || result.status >= 500;
  outcome.receiver = transient ? AttemptOutcome::Receiver::failing : AttemptOutcome::Receiver::answering;
  if (!result.error.empty()) {
    outcome.attempt.outcome = result.timed_out ? "timeout" : "failed";
    outcome.attempt.error = error_excerpt(std::string(what) + ": " + result.error);
  } else {
    outcome.attempt.outcome = "failed";
    outcome.attempt.error = error_excerpt(std::string(what) + ": " + twilio_error_text(result.status, result.body));
  }
  if (!transient) {
    outcome.status = "dead";
    return outcome;
  }
  std::optional<std::chrono::seconds> retry_after;
  if (result.status == 429) retry_after = parse_retry_after(result.retry_after, Clock::now());
  if (retry_after) outcome.retry_after_ms = now_ms() + std::chrono::milliseconds(*retry_after).count();
  fail_or_bury(outcome, integration.definition.retry_schedule_s, job.attempts, retry_after);
  return outcome;
}

}  // namespace

std::string sms_status_url(std::string_view base, std::string_view integration_id, std::string_view job_id) {
  return std::string(base) + "/v1/integrations/" + percent_encode(integration_id) +
         "/sms-status?job=" + percent_encode(job_id);
}

Rendered render_sms(const SmsConfig& config, const JobRow& job, std::string_view source_kind) {
  json::error_code ec;
  json::value record = json::parse(job.payload, ec);
  if (ec) return why_not("the record is not JSON");
  std::string_view alias = source_kind == "app" ? "event" : "response";
  auto to = config.to.render(record, alias);
  if (to.index() == 1) return why_not("config.to: " + std::get<1>(to));
  auto body = config.body.render(record, alias);
  if (body.index() == 1) return why_not("config.body: " + std::get<1>(body));
  SmsAction::Message message{std::move(std::get<0>(to)), std::move(std::get<0>(body))};
  if (!is_e164(message.to)) {
    return why_not("config.to: the number \"" + message.to.substr(0, 40) +
                   "\" is not in E.164 (+ then up to 15 digits, e.g. +15017122661)");
  }
  if (std::size_t n = count_characters(message.body); n > sms_max_body_characters) {
    return why_not("config.body: the message has " + std::to_string(n) + " characters; Twilio takes at most 1600");
  }
  if (message.body.empty()) return why_not("config.body: the message is empty");
  return message;
}

asio::awaitable<AttemptOutcome> SmsAction::deliver(const ActiveIntegration& integration, const JobRow& job) {
  const SmsConfig& config = config_of<SmsConfig>(integration);
  AttemptOutcome outcome;
  outcome.attempt.started_at = now_utc();
  Rendered rendered = render_sms(config, job, integration.definition.source_kind);
  if (rendered.index() == 1) {
    not_rendered_.fetch_add(1, std::memory_order_relaxed);
    co_return refused(std::move(outcome), std::get<1>(rendered));
  }
  const Message& message = std::get<0>(rendered);
  if (std::string day = day_to_check(job); !day.empty()) {
    auto settled = co_await find_sent(integration, job, message, day, outcome);
    if (settled) co_return std::move(*settled);
  }
  co_return co_await send(integration, job, message, std::move(outcome));
}

std::string SmsAction::day_to_check(const JobRow& job) const {
  if (job.attempts <= 1) return {};
  std::string first = job.created_at;
  auto attempts = services_.store.list_attempts(job.seq);
  bool unknown = !attempts.is_ok();
  if (attempts.is_ok()) {
    const auto& list = attempts.value();
    if (!list.empty() && !list.front().started_at.empty()) first = list.front().started_at;
    std::size_t earlier = 0;
    for (const JobAttemptRow& a : list) {
      if (a.number >= job.attempts) continue;
      ++earlier;
      if (a.http_status == 0 || a.http_status >= 500) unknown = true;
    }
    if (earlier < static_cast<std::size_t>(job.attempts - 1)) unknown = true;  // an attempt left no record
  }
  return unknown ? first.substr(0, 10) : std::string();
}

asio::awaitable<std::optional<AttemptOutcome>> SmsAction::find_sent(const ActiveIntegration& integration,
                                                                    const JobRow& job, const Message& message,
                                                                    const std::string& day, AttemptOutcome outcome) {
  const SmsConfig& config = config_of<SmsConfig>(integration);
  net::FetchResult result = co_await call(twilio_list_request(config, message.to, day), outcome);
  if (!result.error.empty() || result.status != 200) {
    // Not knowing whether it was sent, nothing is sent: the attempt fails.
    errors_.fetch_add(1, std::memory_order_relaxed);
    co_return request_failed(integration, job, result, std::move(outcome), "cannot list the messages sent earlier");
  }
  std::optional<TwilioMessage> found = twilio_find_message(result.body, message.to, message.body);
  if (!found) co_return std::nullopt;
  found_.fetch_add(1, std::memory_order_relaxed);
  outcome.attempt.http_status = static_cast<int>(result.status);
  outcome.receiver = AttemptOutcome::Receiver::answering;
  outcome = awaiting_status(std::move(outcome), found->sid, config.callback_timeout_s);
  settle_by_status(outcome, found->sid, found->status, found->error_code);
  co_return outcome;
}

asio::awaitable<AttemptOutcome> SmsAction::send(const ActiveIntegration& integration, const JobRow& job,
                                                const Message& message, AttemptOutcome outcome) {
  const SmsConfig& config = config_of<SmsConfig>(integration);
  if (!co_await await_status_first(integration, job, outcome)) co_return outcome;
  std::string callback = sms_status_url(services_.callback_base, integration.id, job.id);
  net::FetchResult result = co_await call(twilio_send_request(config, message.to, message.body, callback), outcome);
  // From here the job awaits its status: a status that came already has
  // ended it, and then what follows is ignored.
  outcome.from_status = "awaiting_callback";
  if (result.error.empty() && (result.status == 200 || result.status == 201)) {
    co_return sent_outcome(integration, job, result, std::move(outcome));
  }
  if (result.error.empty() && result.status != 429 && result.status < 500) {
    refused_.fetch_add(1, std::memory_order_relaxed);
  } else {
    errors_.fetch_add(1, std::memory_order_relaxed);
  }
  co_return request_failed(integration, job, result, std::move(outcome), "Twilio did not take the message");
}

asio::awaitable<bool> SmsAction::await_status_first(const ActiveIntegration& integration, const JobRow& job,
                                                    AttemptOutcome& outcome) {
  const SmsConfig& config = config_of<SmsConfig>(integration);
  // Until the send's outcome is recorded: should the process die meanwhile,
  // the job comes back unanswered a minute after the request's timeout, and
  // its next attempt lists what was sent.
  AttemptOutcome awaiting = awaiting_from_now(job, outcome.attempt.started_at, now_ms() + config.timeout_ms + 60'000);
  auto marked = co_await services_.store.finish_attempt(awaiting);
  if (marked.is_ok() && marked.value()) co_return true;
  outcome.attempt.outcome = "failed";
  outcome.attempt.error = marked.is_ok() ? "the job changed before sending" : error_excerpt(marked.status().message());
  fail_or_bury(outcome, integration.definition.retry_schedule_s, job.attempts);
  co_return false;
}

AttemptOutcome SmsAction::sent_outcome(const ActiveIntegration& integration, const JobRow& job,
                                       const net::FetchResult& result, AttemptOutcome outcome) {
  outcome.attempt.http_status = static_cast<int>(result.status);
  outcome.receiver = AttemptOutcome::Receiver::answering;
  std::optional<TwilioMessage> sent = twilio_sent_message(result.body);
  sent_.fetch_add(1, std::memory_order_relaxed);
  if (!sent) {
    // Twilio took it but its reply names no message: the outcome is unknown,
    // and the next attempt lists what was sent before anything else.
    outcome.attempt.outcome = "failed";
    outcome.attempt.error = "Twilio's reply names no message sid";
    fail_or_bury(outcome, integration.definition.retry_schedule_s, job.attempts);
    outcome.attempt.http_status = 0;
    return outcome;
  }
  return awaiting_status(std::move(outcome), sent->sid, config_of<SmsConfig>(integration).callback_timeout_s);
}

asio::awaitable<net::FetchResult> SmsAction::call(net::FetchRequest request, AttemptOutcome& outcome) {
  auto started = std::chrono::steady_clock::now();
  net::FetchResult result = co_await services_.fetcher.fetch(std::move(request));
  auto took = std::chrono::steady_clock::now() - started;
  outcome.attempt.duration_ms += std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
  services_.attempt_seconds.observe(std::chrono::duration<double>(took).count());
  co_return result;
}

AttemptOutcome SmsAction::settle_unanswered(const ActiveIntegration& integration, const JobRow& job) {
  const SmsConfig& config = config_of<SmsConfig>(integration);
  AttemptOutcome outcome;
  auto attempts = services_.store.list_attempts(job.seq);
  if (attempts.is_ok() && !attempts.value().empty()) {
    const JobAttemptRow& last = attempts.value().back();
    outcome.attempt.started_at = last.started_at;
    outcome.attempt.duration_ms = last.duration_ms;
    outcome.attempt.http_status = last.http_status;
  }
  std::string sid = sms_sid_of(job.output);
  if (sid.empty()) {
    outcome.attempt.outcome = "timeout";
    outcome.attempt.error = "the send's outcome was never recorded: the next attempt checks what Twilio sent";
    outcome.attempt.http_status = 0;
    fail_or_bury(outcome, integration.definition.retry_schedule_s, job.attempts);
    return outcome;
  }
  outcome.attempt.outcome = "succeeded";
  outcome.status = "succeeded";
  outcome.output =
      json::serialize(json::object{{"sid", sid},
                                   {"status", "unknown"},
                                   {"note", "Twilio accepted the message; no delivery status came within " +
                                                std::to_string(config.callback_timeout_s) + " s"}});
  return outcome;
}

void SmsAction::render_metrics(std::string& out) const {
  out +=
      "# HELP daisy_sms_messages_total SMS sends by outcome: sent (Twilio took it), found (an earlier send "
      "found by listing), refused (Twilio refused it), not_rendered (template or number), error (429, 5xx, no "
      "answer).\n";
  out += "# TYPE daisy_sms_messages_total counter\n";
  for (const auto& [name, value] :
       {std::pair{"sent", &sent_}, std::pair{"found", &found_}, std::pair{"refused", &refused_},
        std::pair{"not_rendered", &not_rendered_}, std::pair{"error", &errors_}}) {
    out += "daisy_sms_messages_total{outcome=\"" + std::string(name) + "\"} " +
           std::to_string(value->load(std::memory_order_relaxed)) + "\n";
  }
  render_sms_status_metrics(out);
}

}  // namespace daisy::jobs
