#pragma once
// The store of events: accepted events, rejected ones (kept for monitoring)
// and the event types that validate them. A batch and the jobs its events
// trigger commit together. The contract of every store interface is in
// store/store.h.

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "store/job_store.h"
#include "store/status.h"

namespace daisy {

// An accepted event as stored. Times are nanoseconds since the epoch, UTC.
struct EventRow {
  std::int64_t seq = 0;  // arrival order; set by reads
  std::string id;
  std::string app_id;
  std::string session_id;
  std::string category;
  std::string name;
  std::int64_t ts_ns = 0;
  std::string data;  // JSON object
  std::int64_t received_ns = 0;
  bool client_id = false;  // id was given by the client: stored once per app, however often sent
};

// A rejected event, kept for monitoring.
struct RejectionRow {
  std::int64_t seq = 0;
  std::string app_id;
  std::int64_t received_ns = 0;
  std::string reason;   // as counted in /metrics
  std::string errors;   // JSON array of {"field","message"}
  std::string payload;  // the raw event, capped
  bool truncated = false;
};

// What one ingest request writes, in one transaction.
struct EventBatch {
  std::vector<EventRow> events;
  std::vector<RejectionRow> rejections;
  std::vector<JobRow> jobs;            // for the integrations the events trigger
  std::size_t rejection_cap = 100000;  // rows kept; the oldest beyond it are dropped
  // Set by the store as it writes the batch (hence mutable: the batch is
  // otherwise read-only there), read once the write completed:
  // repeated[i] when events[i] carries a client id already stored for its
  // app. Such an event is not stored again, and neither are its jobs. Empty
  // when none repeated. (A batch holds a client id at most once: the caller
  // drops repeats within a request.)
  mutable std::vector<bool> repeated;

  bool is_repeated(std::size_t i) const { return i < repeated.size() && repeated[i]; }
  // The ids of the events that were repeats (viewing the batch's strings).
  std::unordered_set<std::string_view> repeated_ids() const;
  // The jobs of the events that were stored (all of them when none repeated).
  std::vector<JobRow> jobs_of_stored_events() const;
};

// Filters of an event query; empty strings and nullopts mean "any". Results
// are ordered by (ts, seq), starting after the cursor (after_ts, after_seq).
struct EventFilter {
  std::string session_id, category, name, app_id;
  std::optional<std::int64_t> since_ns, until_ns;              // inclusive, exclusive
  std::optional<std::pair<std::int64_t, std::int64_t>> after;  // (ts, seq)
  std::size_t limit = 100;
};

// The events received since a time, for a live stream's resume: app_id and
// category narrow them when not empty.
struct EventsSince {
  std::int64_t since_ns = 0;  // received at or after this (about: see events_received_since)
  std::string app_id{}, category{};
  std::size_t limit = 1000;
};

// The first event at or after seq: (its seq, when it was received), or
// nullopt when there is none.
using EventProbe = std::function<Result<std::optional<std::pair<std::int64_t, std::int64_t>>>(std::int64_t seq)>;
// The lowest seq from which every event was received at or after since_ns,
// found by bisecting seq (arrival order) with `probe`: a few point reads, no
// index on the time of arrival. Arrival times follow seq up to the moments
// between a request's arrival and its commit, which a caller covers by asking
// for a little earlier than it needs.
Result<std::int64_t> first_seq_received_since(const EventProbe& probe, std::int64_t max_seq, std::int64_t since_ns);

struct SessionSummary {
  std::int64_t count = 0;
  std::int64_t first_ns = 0, last_ns = 0;
};

struct RejectionFilter {
  std::string app_id;
  std::optional<std::int64_t> since_ns, until_ns;
  std::int64_t after_seq = 0;
  std::size_t limit = 100;
};

struct EventTypeKey {
  std::string category, name;
};

struct EventTypeRow {
  std::string category, name;
  std::string schema;  // JSON text
  std::string created_at, updated_at;
};

class EventStore {
 public:
  virtual ~EventStore() = default;

  // Events. The batch's rows are written in one transaction (shared with other
  // writes by group commit); rejections beyond the cap are dropped, oldest first.
  virtual boost::asio::awaitable<Status> insert_events(std::shared_ptr<const EventBatch> batch) = 0;
  virtual Result<std::vector<EventRow>> list_events(const EventFilter& filter) = 0;
  // In arrival order (seq).
  virtual Result<std::vector<EventRow>> events_received_since(const EventsSince& query) = 0;
  // Count and time span of a session's events (of one app when app_id is set);
  // not_found when it has none.
  virtual Result<SessionSummary> session_summary(std::string_view session_id, std::string_view app_id) = 0;
  virtual Result<std::vector<RejectionRow>> list_rejections(const RejectionFilter& filter) = 0;

  // Event types, keyed by (category, name).
  virtual Result<std::vector<EventTypeRow>> list_event_types() = 0;
  // A page of them in (category, name) byte order: the first `limit` after
  // the key (category, name), or from the start when `after` is null.
  virtual Result<std::vector<EventTypeRow>> list_event_types(const EventTypeKey* after, std::size_t limit) = 0;
  virtual Result<EventTypeRow> get_event_type(std::string_view category, std::string_view name) = 0;
  // Creates or replaces; returns true when it was created.
  virtual boost::asio::awaitable<Result<bool>> put_event_type(EventTypeRow row) = 0;
  virtual boost::asio::awaitable<Status> delete_event_type(std::string category, std::string name) = 0;
};

}  // namespace daisy
