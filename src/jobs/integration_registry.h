#pragma once
// The integrations held in memory, so that the collection paths find the
// ones a response or an event triggers without a query, and the job runner
// finds each job's integration. Changed through the API handlers (which
// write the store first), loaded from the store at start-up.
//
// Thread-safe. Handlers resume on different threads, so changes can arrive
// out of order: a deleted integration stays deleted, and an older row never
// replaces a newer one.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "domain/integration.h"
#include "store/job_store.h"

namespace daisy::jobs {

struct ActiveIntegration {
  std::string id;
  IntegrationDefinition definition;
  std::string secret, previous_secret, previous_until;
  std::string disabled_reason;
  std::string updated_at;
};

// The action a submission triggered, as its reply shows it.
struct TriggeredAction {
  std::string integration_id{}, job_id{}, mode{}, status{};
  std::string output{};  // sync: the receiver's JSON reply ("" when none)
  std::string error{};   // sync: what went wrong ("" when nothing did)
};

// What a job sends: the record's JSON as it is now (a snapshot kept in the
// job), or a response's revision, which the store keeps: the job then holds
// no copy, and the payload is rendered from that revision when needed
// (JobRow::revision).
struct JobPayload {
  std::string_view json{};
  int revision = 0;
};

class IntegrationRegistry {
 public:
  // Loads every integration; false (and a log line) when the store fails.
  bool load(JobStore& store);
  // Loads every integration again, dropping those no longer stored (another
  // node deleted them); false when the store fails.
  bool reload(JobStore& store);
  // Where a row comes from. A row this node just wrote never replaces a newer
  // one (writes complete out of order across threads); a row read back from
  // the store is the truth and replaces what is held, whatever its
  // updated_at (nodes' clocks differ).
  enum class Source { this_node, store };
  // An unreadable definition is logged and skipped.
  void put(const IntegrationRow& row, Source source = Source::this_node);
  void remove(const std::string& id);
  std::shared_ptr<const ActiveIntegration> find(std::string_view id) const;

  // Adds a job to `jobs` (and an action to `actions`, when given) for each
  // enabled async integration of `source_id` that runs on `trigger`.
  void add_jobs(std::string_view source_id, std::string_view trigger, std::string_view record_id, JobPayload payload,
                std::vector<JobRow>& jobs, std::vector<TriggeredAction>* actions = nullptr) const;
  // One job of this integration (enabled or not) for a record, due now (a replay).
  static JobRow make_job(const ActiveIntegration& integration, std::string_view trigger, std::string_view record_id,
                         JobPayload payload);
  // The enabled sync integrations of `source_id` that run on `trigger`.
  std::vector<std::shared_ptr<const ActiveIntegration>> sync_for(std::string_view source_id,
                                                                 std::string_view trigger) const;
  // False when no integration is attached to `source_id` (cheap: for the event path).
  bool any_for(std::string_view source_id) const;

 private:
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const ActiveIntegration>> by_id_;
  std::unordered_map<std::string, std::vector<std::shared_ptr<const ActiveIntegration>>> by_source_;
  std::unordered_set<std::string> deleted_;
  std::atomic<std::size_t> count_{0};

  void index_locked();
};

}  // namespace daisy::jobs
