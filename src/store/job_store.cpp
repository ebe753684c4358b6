// The decisions about jobs that every backend makes alike (job_store.h).
#include "store/job_store.h"

#include <algorithm>
#include <utility>

namespace daisy {

Status check_job_transition(const JobRow& job, std::span<const std::string_view> from) {
  if (std::find(from.begin(), from.end(), job.status) != from.end()) return Status::ok();
  return Status::conflict("the job is " + job.status);
}

JobRow job_after_transition(JobRow job, std::string_view to, std::int64_t due_ms, std::string now) {
  job.status = std::string(to);
  job.due_ms = due_ms;
  job.updated_at = std::move(now);
  return job;
}

std::vector<std::pair<std::string_view, const std::string*>> job_filter_conditions(const JobFilter& f) {
  std::vector<std::pair<std::string_view, const std::string*>> given;
  for (auto condition : {std::pair<std::string_view, const std::string*>{"status", &f.status},
                         {"integration_id", &f.integration_id},
                         {"source_id", &f.source_id}}) {
    if (!condition.second->empty()) given.push_back(condition);
  }
  return given;
}

ReceiverBackOff after_receiver_failure(ReceiverBackOff back_off, std::int64_t retry_after_ms, std::int64_t now_ms) {
  constexpr std::int64_t longest_retry_after_ms = 3600 * 1000;
  constexpr std::int64_t longest_pause_ms = 300 * 1000;
  ++back_off.failures;
  if (back_off.failures >= receiver_failures_before_trial && back_off.paused_until_ms <= now_ms) {
    int doublings = std::min(back_off.pauses, 16);
    back_off.paused_until_ms = now_ms + std::min<std::int64_t>(std::int64_t{1000} << doublings, longest_pause_ms);
    ++back_off.pauses;
  }
  if (retry_after_ms > now_ms) {
    back_off.paused_until_ms =
        std::max(back_off.paused_until_ms, std::min(retry_after_ms, now_ms + longest_retry_after_ms));
  }
  return back_off;
}

bool outcome_applies(const JobRow& stored, const AttemptOutcome& outcome) {
  return stored.status == outcome.from_status && stored.attempts == outcome.attempt_number;
}

}  // namespace daisy
