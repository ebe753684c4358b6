#include "jobs/callbacks.h"

#include <utility>
#include <vector>

#include "jobs/retry_policy.h"
#include "util/crypto.h"
#include "util/iso8601.h"
#include "util/time.h"

namespace daisy::jobs {

std::variant<JobRow, CallbackRefusal> job_for_callback(JobStore& store, const std::string& job_id,
                                                       std::string_view token) {
  auto job = store.get_job(job_id);
  if (!job.is_ok()) {
    auto kind = job.status().code() == Status::Code::not_found ? CallbackRefusal::Kind::not_found
                                                               : CallbackRefusal::Kind::store_failed;
    return CallbackRefusal{kind, job.status(), {}};
  }
  const JobRow& j = job.value();
  std::string presented = to_hex(bytes_of(sha256(token)));
  if (j.callback_token_hash.empty() || !constant_time_equal(presented, j.callback_token_hash)) {
    if (j.status != "awaiting_callback") return CallbackRefusal{CallbackRefusal::Kind::not_waiting, {}, j.status};
    return CallbackRefusal{CallbackRefusal::Kind::wrong_token, {}, {}};
  }
  return std::move(job.value());
}

AttemptOutcome ending_awaited_attempt(JobStore& store, const JobRow& job) {
  AttemptOutcome outcome;
  outcome.job_id = job.id;
  outcome.attempt_number = job.attempts;
  outcome.from_status = "awaiting_callback";
  auto attempts = store.list_attempts(job.seq);
  if (attempts.is_ok() && !attempts.value().empty()) {
    const JobAttemptRow& last = attempts.value().back();
    outcome.attempt.started_at = last.started_at;
    outcome.attempt.http_status = last.http_status;
    outcome.attempt.log = last.log;  // what a transform logged before the send
    if (auto started = parse_timestamp_ns(last.started_at)) {
      outcome.attempt.duration_ms = (now_ns() - *started) / 1'000'000;
    }
  }
  if (outcome.attempt.started_at.empty()) outcome.attempt.started_at = now_utc();
  return outcome;
}

boost::asio::awaitable<std::variant<JobRow, CallbackRefusal>> record_callback(JobStore& store,
                                                                              const IntegrationRegistry& integrations,
                                                                              JobRow job, CallbackReport report) {
  // The attempt began when the message was published: its record says when.
  AttemptOutcome outcome = ending_awaited_attempt(store, job);
  outcome.attempt.outcome = report.succeeded ? "succeeded" : "failed";
  outcome.output = std::move(report.output);
  if (report.succeeded) {
    outcome.status = "succeeded";
  } else {
    outcome.attempt.error = report.error.empty() ? "the microservice reported a failure" : std::move(report.error);
    auto integration = integrations.find(job.integration_id);
    static const std::vector<int> none;
    fail_or_bury(outcome, integration ? integration->definition.retry_schedule_s : none, job.attempts);
  }
  auto recorded = co_await store.finish_attempt(std::move(outcome));
  if (!recorded.is_ok()) co_return CallbackRefusal{CallbackRefusal::Kind::store_failed, recorded.status(), {}};
  if (!recorded.value()) co_return CallbackRefusal{CallbackRefusal::Kind::moved_on, {}, {}};
  auto now = store.get_job(job.id);
  if (!now.is_ok()) co_return CallbackRefusal{CallbackRefusal::Kind::store_failed, now.status(), {}};
  co_return std::move(now.value());
}

}  // namespace daisy::jobs
