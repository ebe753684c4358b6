#include "store/event_store.h"

#include <unordered_set>

namespace daisy {

std::unordered_set<std::string_view> EventBatch::repeated_ids() const {
  std::unordered_set<std::string_view> ids;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (is_repeated(i)) ids.insert(events[i].id);
  }
  return ids;
}

std::vector<JobRow> EventBatch::jobs_of_stored_events() const {
  auto skipped = repeated_ids();
  std::vector<JobRow> out;
  for (const JobRow& job : jobs) {
    if (!skipped.count(job.source_id)) out.push_back(job);
  }
  return out;
}

Result<std::int64_t> first_seq_received_since(const EventProbe& probe, std::int64_t max_seq, std::int64_t since_ns) {
  auto first = probe(0);
  if (!first.is_ok()) return first.status();
  if (!first.value()) return max_seq + 1;  // no event yet: from whatever comes
  // lo: an event received before since_ns; the first event at or after hi
  // was received at or after it, or there is none.
  std::int64_t lo = first.value()->first;
  if (first.value()->second >= since_ns) return lo;
  std::int64_t hi = max_seq + 1;
  while (hi - lo > 1) {
    std::int64_t mid = lo + (hi - lo) / 2;
    auto at = probe(mid);
    if (!at.is_ok()) return at.status();
    // No event in [mid, hi) means the first at or after mid is the first at or after hi.
    if (!at.value() || at.value()->first >= hi || at.value()->second >= since_ns) {
      hi = mid;
    } else {
      lo = at.value()->first;
    }
  }
  return hi;
}

}  // namespace daisy
