#include "jobs/delivery_batches.h"

#include <string>
#include <unordered_map>
#include <utility>

namespace daisy::jobs {

std::vector<std::vector<JobRow>> group_for_delivery(
    std::vector<JobRow> claimed, const std::function<std::size_t(std::string_view integration_id)>& max_batch) {
  std::vector<std::vector<JobRow>> deliveries;
  deliveries.reserve(claimed.size());
  // The delivery still filling, by integration (an index in deliveries).
  std::unordered_map<std::string, std::size_t> open;
  for (JobRow& job : claimed) {
    std::size_t limit = max_batch(job.integration_id);
    if (limit <= 1) {
      deliveries.emplace_back().push_back(std::move(job));
      continue;
    }
    auto it = open.find(job.integration_id);
    if (it == open.end() || deliveries[it->second].size() >= limit) {
      it = open.insert_or_assign(job.integration_id, deliveries.size()).first;
      deliveries.emplace_back().reserve(limit);
    }
    deliveries[it->second].push_back(std::move(job));
  }
  return deliveries;
}

}  // namespace daisy::jobs
