#include "jobs/record_actions.h"

#include "jobs/job_runner.h"

namespace daisy::jobs {

void RecordActions::add_jobs(std::string_view record_id, JobPayload payload, std::vector<JobRow>& jobs) {
  if (integrations_) integrations_->add_jobs(source_id_, trigger_, record_id, payload, jobs, &actions_);
}

boost::asio::awaitable<void> RecordActions::committed(std::string_view record_id,
                                                      const std::function<std::string()>& payload) {
  if (!integrations_ || !runner_) co_return;
  if (!actions_.empty()) runner_->wake();
  if (record_id.empty()) co_return;
  auto sync = integrations_->sync_for(source_id_, trigger_);
  if (sync.empty()) co_return;
  auto answered =
      co_await runner_->call_sync(std::move(sync), std::string(trigger_), std::string(record_id), payload());
  actions_.insert(actions_.end(), answered.begin(), answered.end());
}

}  // namespace daisy::jobs
