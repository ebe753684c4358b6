#include "jobs/kinds/action_kind.h"

#include <utility>

#include "jobs/retry_policy.h"

namespace daisy::jobs {

boost::asio::awaitable<std::vector<AttemptOutcome>> ActionKind::deliver_batch(const ActiveIntegration& integration,
                                                                              const std::vector<JobRow>& jobs) {
  std::vector<AttemptOutcome> outcomes;
  outcomes.reserve(jobs.size());
  for (const JobRow& job : jobs) {
    AttemptOutcome outcome = co_await deliver(integration, job);
    outcomes.push_back(std::move(outcome));
  }
  co_return outcomes;
}

AttemptOutcome unrecorded_attempt_failed(const ActiveIntegration& integration, const JobRow& job) {
  AttemptOutcome outcome;
  outcome.attempt.outcome = "failed";
  outcome.attempt.error = "the attempt's outcome was never recorded";
  fail_or_bury(outcome, integration.definition.retry_schedule_s, job.attempts);
  return outcome;
}

std::string error_excerpt(std::string_view text) {
  constexpr std::size_t max_bytes = 500;
  if (text.size() <= max_bytes) return std::string(text);
  return std::string(text.substr(0, max_bytes)) + "...";
}

AttemptOutcome awaiting_from_now(const JobRow& job, const std::string& started_at, std::int64_t due_ms) {
  AttemptOutcome awaiting;
  awaiting.job_id = job.id;
  awaiting.attempt_number = job.attempts;
  awaiting.attempt.started_at = started_at;
  awaiting.attempt.outcome = "awaiting_callback";
  awaiting.attempt.log = job.log_before;
  awaiting.status = "awaiting_callback";
  awaiting.due_ms = due_ms;
  return awaiting;
}

}  // namespace daisy::jobs
