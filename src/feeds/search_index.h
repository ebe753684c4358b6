#pragma once
// The plans /search answers from: every searchable plan (its base plan was
// seen online at least once) of every provider, in memory, sorted by start.
// Readers take an immutable snapshot (one atomic load); a pull that lands
// publishes a new one for its provider, so a search never waits on a pull, a
// provider or the store.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/feed_store.h"

namespace daisy::feeds {

struct SearchPlan {
  std::int64_t starts_at = 0, ends_at = 0;  // Unix seconds (the local times in the provider's zone)
  std::string json;                         // the plan as /search returns it: {"id", "title", ...}
};

// One provider's searchable plans, in the index's form. Plans whose local
// times do not exist in `timezone` are left out.
std::vector<SearchPlan> search_plans(const std::vector<SearchablePlan>& plans, const std::string& timezone);

class SearchIndex {
 public:
  struct Snapshot {
    std::vector<SearchPlan> plans;  // sorted by starts_at
  };

  // Replaces one provider's plans (after a pull, or at start-up); an empty
  // list removes the provider.
  void replace(const std::string& provider_id, std::vector<SearchPlan> plans);

  std::shared_ptr<const Snapshot> snapshot() const { return std::atomic_load(&current_); }

  // The body of a /search reply: plans that start at or after `from` and end
  // at or before `to` (both inclusive; nullopt leaves that side open).
  static std::string search(const Snapshot& snapshot, std::optional<std::int64_t> from, std::optional<std::int64_t> to);

  // The same body in parts, written as the client reads it: each call of
  // next() appends about `part_bytes` of it. Holds the snapshot, so a reply
  // costs one part of memory however many plans it lists.
  class Reply {
   public:
    Reply(std::shared_ptr<const Snapshot> snapshot, std::optional<std::int64_t> from, std::optional<std::int64_t> to);
    // Appends the next part to out; false once the body is complete.
    bool next(std::string& out, std::size_t part_bytes);

   private:
    std::shared_ptr<const Snapshot> snapshot_;
    std::vector<SearchPlan>::const_iterator it_, last_;
    std::optional<std::int64_t> to_;
    bool started_ = false;
    bool any_ = false;
  };

 private:
  std::mutex mu_;  // serialises writers
  std::map<std::string, std::vector<SearchPlan>> by_provider_;
  std::shared_ptr<const Snapshot> current_ = std::make_shared<Snapshot>();
};

}  // namespace daisy::feeds
