#include "jobs/kinds/action_kind.h"

#include <utility>

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

std::string error_excerpt(std::string_view text) {
  constexpr std::size_t max_bytes = 500;
  if (text.size() <= max_bytes) return std::string(text);
  return std::string(text.substr(0, max_bytes)) + "...";
}

}  // namespace daisy::jobs
