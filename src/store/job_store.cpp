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

bool outcome_applies(const JobRow& stored, const AttemptOutcome& outcome) {
  return stored.status == outcome.from_status && stored.attempts == outcome.attempt_number;
}

}  // namespace daisy
