#pragma once
// The four event indexes (by session, time, category and app), maintained in
// bulk instead of at each commit.
//
// Why: events arrive out of key order. A session's events recur among
// thousands of live sessions, and even event times arrive a little out of
// order. A B-tree index updated at every group commit then dirties one page
// per event, and the commit writes it to the WAL: 4 KB per 250-byte event,
// five times the cost of the rows themselves (measured in docs/benchmarks.md).
//
// How: a commit appends each event's index entries to an in-memory
// generation. When the generation is big or old enough it is frozen, sorted
// per index (on a thread of its own), and written into the index tables
// (event_idx_*) in key order, a slice per writer transaction between the
// event commits, so each index page is written once per generation instead
// of once per commit. Readers merge
// the entries of the (at most two) generations in memory with what the
// tables hold: every committed event is visible to queries at once.
//
// Durability: the rows in `events` are the truth; the tables are derived.
// event_index_state.indexed_through is the last seq whose entries are all in
// the tables, advanced when a whole generation is written; at start-up the
// events after it are read back into memory (recover), and rewriting an entry
// is harmless (INSERT OR IGNORE).
//
// Threads: add and step run on the writer thread, recover at start-up before
// any write (from migrate()); matching runs on any reader thread. A frozen
// generation is sorted on a short-lived thread of its own.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>  // std::shared_lock
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/sqlite/group_writer.h"
#include "store/status.h"
#include "util/rw_lock.h"

namespace daisy::sqlite {

class Connection;

// What the indexes hold of one event.
struct IndexEntry {
  std::int64_t seq = 0;
  std::int64_t ts = 0;
  std::int64_t session_seq = 0;
  std::string_view category, name, app_id;  // owned by the generation
};

// A query on the entries held in memory; empty views and nullopts mean "any".
struct RecentQuery {
  std::optional<std::int64_t> session_seq;
  std::string_view category, name, app_id;
  std::optional<std::int64_t> since_ns, until_ns;              // inclusive, exclusive
  std::optional<std::pair<std::int64_t, std::int64_t>> after;  // (ts, seq), exclusive
};

struct DeferredIndexOptions {
  // Counted in events (an IndexEntry holds an event's four table entries).
  std::size_t generation_entries = 65536;          // a generation is frozen at this size...
  std::chrono::milliseconds generation_age{1000};  // ...or once its first entry is this old
  std::size_t entries_per_step = 2048;             // table rows written per writer transaction, at most...
  // ...and for at most about this long: every commit waits while a step
  // runs, so a step's length is a floor under the write latency's tail (rows
  // land all over a large index: 2048 of them took 5-25 ms with 3M events).
  std::chrono::microseconds step_time{2000};
  std::size_t max_pending = 262144;  // beyond this many in memory, writes wait for the index
};

class DeferredEventIndex {
 public:
  explicit DeferredEventIndex(DeferredIndexOptions options = {});
  ~DeferredEventIndex();

  // Writer thread, after the commit that stored these events.
  void add(const std::vector<IndexEntry>& entries);

  // Writer thread, at start-up: reads back the events whose entries may be
  // missing from the tables.
  Status recover(Connection& db);

  // Writer thread, between commits: freezes the generation when it is due and
  // writes the next slice of a frozen one in its own transaction.
  GroupWriter::Backlog step(Connection& db);

  // The (ts, seq) of matching entries held in memory, in (ts, seq) order, at
  // most `limit`. Call it before querying the tables: an entry that leaves
  // memory meanwhile is then in the table's snapshot (results may overlap;
  // dedupe by seq).
  std::vector<std::pair<std::int64_t, std::int64_t>> match(const RecentQuery& query, std::size_t limit) const;

  // Entries held in memory (not yet known to be in the tables).
  std::size_t pending() const;

 private:
  struct Generation;
  bool due(const Generation& g) const;
  GroupWriter::Backlog backlog_locked() const;
  Status write_slice(Connection& db, Generation& g, std::size_t budget, std::chrono::microseconds time);

  DeferredIndexOptions options_;
  mutable RwLock mu_;  // guards the pointers and the active generation's contents
  // Shared with the readers scanning them (match).
  std::shared_ptr<Generation> active_;
  std::shared_ptr<Generation> frozen_;  // contents immutable once frozen
  // A written generation, emptied, kept for its memory. Writer thread only
  // (step and add); readers never see it.
  std::shared_ptr<Generation> spare_;
};

}  // namespace daisy::sqlite
