#include "store/sqlite/deferred_event_index.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>  // std::equal_to, std::hash
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "observability/log_value.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/sqlite_status.h"
#include "util/thread_name.h"

namespace daisy::sqlite {

namespace {

enum Kind : std::size_t { kind_session, kind_time, kind_category, kind_app, kinds };

constexpr std::array<const char*, kinds> insert_head = {
    "INSERT OR IGNORE INTO event_idx_session (session_seq, ts, seq) VALUES ",
    "INSERT OR IGNORE INTO event_idx_time (ts, seq, name) VALUES ",
    "INSERT OR IGNORE INTO event_idx_category (category, ts, seq, name) VALUES ",
    "INSERT OR IGNORE INTO event_idx_app (app_id, ts, seq) VALUES ",
};
constexpr std::array<int, kinds> columns = {3, 3, 4, 3};

// Entries a reader scans per hold of the lock (match): some tens of µs.
constexpr std::size_t scan_slice = 4096;

// Rows per INSERT: one statement of many rows costs much less per row than
// a statement per row.
constexpr std::size_t rows_per_insert = 64;

std::string make_insert_sql(std::size_t kind, std::size_t rows) {
  std::string one = "(?";
  for (int c = 1; c < columns[kind]; ++c) one += ", ?";
  one += ")";
  std::string sql = insert_head[kind];
  for (std::size_t r = 0; r < rows; ++r) {
    if (r) sql += ", ";
    sql += one;
  }
  return sql;
}

// The full-size statements are built once; shorter ones end a generation.
const std::string& insert_sql(std::size_t kind, std::size_t rows, std::string& scratch) {
  static const std::array<std::string, kinds> full = {
      make_insert_sql(0, rows_per_insert), make_insert_sql(1, rows_per_insert), make_insert_sql(2, rows_per_insert),
      make_insert_sql(3, rows_per_insert)};
  if (rows == rows_per_insert) return full[kind];
  scratch = make_insert_sql(kind, rows);
  return scratch;
}

// Strings are interned per generation, so equal strings share one address:
// sorting by that address groups equal values together, which is all the
// tables need for locality (the groups' own order does not matter).
std::uintptr_t address(std::string_view s) { return reinterpret_cast<std::uintptr_t>(s.data()); }

// Lets the interned strings be looked up by string_view, without building a
// std::string for each event's category, name and app.
struct ViewHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct DeferredEventIndex::Generation {
  using Progress = std::array<std::size_t, kinds>;  // rows written per table

  std::vector<IndexEntry> entries;  // in seq order
  std::unordered_set<std::string, ViewHash, std::equal_to<>> strings;
  std::unordered_multimap<std::int64_t, std::uint32_t> by_session;  // session_seq -> entries index
  std::int64_t first_added_ms = 0;
  std::int64_t max_seq = 0;
  // Once frozen: each table's entries in key order, copied (so that writing
  // them reads memory in sequence) and sorted on a thread of their own, so
  // the writer never stalls commits for a sort; then, on the writer thread,
  // how many of them are written.
  std::array<std::vector<IndexEntry>, kinds> order;
  std::future<void> sorting;
  Progress written{};

  // Room for a full generation up front, and for the commit that crosses
  // the limit (a generation is frozen between commits): growing the vector
  // while commits add to it cost 9% of the writer's CPU under batches (copies
  // and page faults, measured with perf), all of it under the lock readers
  // wait on.
  explicit Generation(std::size_t expected_entries) {
    entries.reserve(expected_entries + kCommitMargin);
    by_session.reserve(expected_entries + kCommitMargin);
  }
  static constexpr std::size_t kCommitMargin = 16384;

  // Empties the generation for reuse as the next active one. Its entries'
  // and session map's room is kept: under batches, a fresh generation's
  // page faults and its growth past the first reservation made add() 17% of
  // the writer's CPU; reused, 8% (perf, 15 s of batches). The room kept is
  // that of the largest generation so far: at most max_pending entries of
  // 72 bytes, 19 MB. The sorted copies are dropped: they are filled on the
  // sorting thread, and keeping them would hold four times more.
  void reset_for_reuse() {
    entries.clear();
    strings.clear();
    by_session.clear();
    first_added_ms = 0;
    max_seq = 0;
    for (auto& o : order) std::vector<IndexEntry>().swap(o);
    sorting = {};
    written = {};
  }

  std::string_view intern(std::string_view s) {
    if (auto it = strings.find(s); it != strings.end()) return *it;
    return *strings.emplace(s).first;
  }

  void add(const IndexEntry& e) {
    if (entries.empty()) first_added_ms = now_ms();
    auto i = static_cast<std::uint32_t>(entries.size());
    entries.push_back({e.seq, e.ts, e.session_seq, intern(e.category), intern(e.name), intern(e.app_id)});
    by_session.emplace(e.session_seq, i);
    max_seq = std::max(max_seq, e.seq);
  }

  void sort_all() {
    for (std::size_t k = 0; k < kinds; ++k) sort(static_cast<Kind>(k));
  }

  void sort(Kind kind) {
    auto& o = order[kind];
    if (o.size() == entries.size()) return;  // sorted already
    o.clear();
    // Keys copied out first: sorting them is several times faster than
    // comparing through the entries.
    struct Key {
      std::uint64_t group;
      std::int64_t ts, seq;
      std::uint32_t index;
    };
    std::vector<Key> keys(entries.size());
    for (std::uint32_t i = 0; i < keys.size(); ++i) {
      const IndexEntry& e = entries[i];
      std::uint64_t group = kind == kind_session    ? static_cast<std::uint64_t>(e.session_seq)
                            : kind == kind_category ? address(e.category)
                            : kind == kind_app      ? address(e.app_id)
                                                    : 0;
      keys[i] = {group, e.ts, e.seq, i};
    }
    std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
      if (a.group != b.group) return a.group < b.group;
      if (a.ts != b.ts) return a.ts < b.ts;
      return a.seq < b.seq;
    });
    o.reserve(keys.size());
    for (const Key& key : keys) o.push_back(entries[key.index]);
  }

  bool complete(const Progress& progress) const {
    return std::all_of(progress.begin(), progress.end(), [this](std::size_t n) { return n == entries.size(); });
  }

  // Inserts up to `budget` rows, table after table in key order, advancing
  // `progress`, until `deadline` (checked after each statement: at least one
  // runs). Throws when a statement cannot be prepared.
  Status insert_rows(Connection& db, Progress& progress, std::size_t budget,
                     std::chrono::steady_clock::time_point deadline) const {
    std::string scratch;
    bool first = true;
    for (std::size_t k = 0; k < kinds && budget > 0; ++k) {
      while (progress[k] < order[k].size() && budget > 0) {
        if (!first && std::chrono::steady_clock::now() >= deadline) return Status::ok();
        first = false;
        std::size_t rows = std::min({rows_per_insert, order[k].size() - progress[k], budget});
        auto stmt = db.prepare_text(insert_sql(k, rows, scratch));
        int p = 1;
        for (std::size_t r = 0; r < rows; ++r) {
          const IndexEntry& e = order[k][progress[k] + r];
          switch (k) {
            case kind_session:
              stmt.bind(p, e.session_seq).bind(p + 1, e.ts).bind(p + 2, e.seq);
              break;
            case kind_time:
              stmt.bind(p, e.ts).bind(p + 1, e.seq).bind_ref(p + 2, e.name);
              break;
            case kind_category:
              stmt.bind_ref(p, e.category).bind(p + 1, e.ts).bind(p + 2, e.seq).bind_ref(p + 3, e.name);
              break;
            default:
              stmt.bind_ref(p, e.app_id).bind(p + 1, e.ts).bind(p + 2, e.seq);
              break;
          }
          p += columns[k];
        }
        int rc = stmt.step();
        if (rc != SQLITE_DONE) return status_of(rc, db);
        progress[k] += rows;
        budget -= rows;
      }
    }
    return Status::ok();
  }
};

DeferredEventIndex::DeferredEventIndex(DeferredIndexOptions options) : options_(options) {}
DeferredEventIndex::~DeferredEventIndex() = default;

void DeferredEventIndex::add(const std::vector<IndexEntry>& entries) {
  if (entries.empty()) return;
  std::unique_lock lock(mu_);
  if (!active_) active_ = spare_ ? std::move(spare_) : std::make_shared<Generation>(options_.generation_entries);
  for (const IndexEntry& e : entries) active_->add(e);
}

Status DeferredEventIndex::recover(Connection& db) {
  {
    std::shared_lock lock(mu_);
    if (active_ || frozen_) return Status::ok();  // recovered already, or serving
  }
  std::int64_t indexed_through = 0;
  {
    auto stmt = db.prepare("SELECT indexed_through FROM event_index_state WHERE id = 1");
    int rc = stmt.step();
    if (rc == SQLITE_ROW)
      indexed_through = stmt.integer(0);
    else if (rc != SQLITE_DONE)
      return status_of(rc, db);
  }
  auto stmt = db.prepare("SELECT seq, ts, session_seq, category, name, app_id FROM events WHERE seq > ? ORDER BY seq");
  stmt.bind(1, indexed_through);
  std::unique_lock lock(mu_);
  if (!active_) active_ = std::make_shared<Generation>(options_.generation_entries);
  int rc;
  std::string category, name, app_id;
  while ((rc = stmt.step()) == SQLITE_ROW) {
    category = stmt.text(3);
    name = stmt.text(4);
    app_id = stmt.text(5);
    active_->add({stmt.integer(0), stmt.integer(1), stmt.integer(2), category, name, app_id});
  }
  if (rc != SQLITE_DONE) return status_of(rc, db);
  if (!active_->entries.empty()) {
    spdlog::info("msg=\"event index: re-reading events not yet in the index tables\" events={}",
                 active_->entries.size());
  }
  return Status::ok();
}

bool DeferredEventIndex::due(const Generation& g) const {
  if (g.entries.empty()) return false;
  return g.entries.size() >= options_.generation_entries ||
         now_ms() - g.first_added_ms >= options_.generation_age.count();
}

GroupWriter::Backlog DeferredEventIndex::backlog_locked() const {
  // Counts the frozen generation's unwritten part only, so that writes wait
  // for a step or two, not for the whole generation.
  std::size_t unwritten = active_ ? active_->entries.size() : 0;
  if (frozen_) {
    std::size_t rows = 0;
    for (std::size_t n : frozen_->written) rows += n;
    unwritten += frozen_->entries.size() - rows / kinds;
  }
  if (unwritten > options_.max_pending) return GroupWriter::Backlog::too_much;
  if (frozen_ || (active_ && due(*active_))) return GroupWriter::Backlog::some;
  return GroupWriter::Backlog::none;
}

GroupWriter::Backlog DeferredEventIndex::step(Connection& db) {
  Generation* g;
  {
    std::unique_lock lock(mu_);
    if (!frozen_ && active_ && due(*active_)) {
      frozen_ = std::move(active_);
      Generation* frozen = frozen_.get();
      try {
        frozen->sorting = std::async(std::launch::async, [frozen] {
          name_this_thread("daisy-index-sort");
          frozen->sort_all();
        });
      } catch (const std::exception& e) {
        spdlog::warn("msg=\"event index: no thread to sort on; sorting on the writer\" error={}", log_value(e.what()));
      }
    }
    g = frozen_.get();
  }
  // Only this thread replaces frozen_, so g stays valid without the lock.
  if (!g) return GroupWriter::Backlog::none;
  if (g->sorting.valid()) {
    if (g->sorting.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      bool behind;
      {
        std::shared_lock lock(mu_);
        behind = backlog_locked() == GroupWriter::Backlog::too_much;
      }
      // Commits go on meanwhile, unless the index is too far behind: then
      // waiting for the sort is the backpressure.
      if (!behind) return GroupWriter::Backlog::none;
    }
    try {
      g->sorting.get();
    } catch (const std::exception& e) {
      spdlog::error("msg=\"event index: sorting failed; sorting again on the writer\" error={}", log_value(e.what()));
      for (auto& order : g->order) order.clear();
    }
  }
  // Sorted here only when the sorting thread could not start or failed.
  g->sort_all();
  Status s = write_slice(db, *g, options_.entries_per_step, options_.step_time);
  if (!s.is_ok()) {
    // The entries stay in memory (readers still see them) and the slice is
    // retried at the next step; the pause keeps a failing disk from being
    // retried in a loop. Backpressure still holds.
    spdlog::error("msg=\"event index: writing entries failed\" error={}", log_value(s.message()));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::shared_lock lock(mu_);
    return backlog_locked() == GroupWriter::Backlog::too_much ? GroupWriter::Backlog::too_much
                                                              : GroupWriter::Backlog::none;
  }
  std::shared_ptr<Generation> reusable;
  GroupWriter::Backlog backlog;
  {
    std::unique_lock lock(mu_);
    if (g->complete(g->written)) {
      // Reused only when no reader holds it: none can take it from here on,
      // since it is reachable only through frozen_, under this lock.
      if (frozen_.use_count() == 1) {
        // Pairs with the release in the last reader's drop of its copy, so
        // that reader's scan happens before the entries are cleared.
        std::atomic_thread_fence(std::memory_order_acquire);
        reusable = std::move(frozen_);
      }
      frozen_.reset();
    }
    backlog = backlog_locked();
  }
  // Emptied without the lock that readers wait on: a full generation frees
  // up to max_pending session-map nodes and its strings.
  if (reusable) {
    reusable->reset_for_reuse();
    spare_ = std::move(reusable);
  }
  return backlog;
}

Status DeferredEventIndex::write_slice(Connection& db, Generation& g, std::size_t budget,
                                       std::chrono::microseconds time) {
  auto deadline = std::chrono::steady_clock::now() + time;
  if (db.run("BEGIN IMMEDIATE") != SQLITE_OK) return Status::unavailable("cannot begin: " + db.last_error());
  Generation::Progress written = g.written;
  Status status;
  // An exception (a failed prepare, no memory) must not leave the
  // transaction open: every later BEGIN would fail.
  try {
    status = g.insert_rows(db, written, budget, deadline);
  } catch (const std::exception& e) {
    status = Status::internal(e.what());
  }
  if (status.is_ok() && g.complete(written)) {
    auto mark = db.prepare("UPDATE event_index_state SET indexed_through = max(indexed_through, ?) WHERE id = 1");
    mark.bind(1, g.max_seq);
    status = status_of(mark.step(), db);
  }
  if (status.is_ok() && db.run("COMMIT") != SQLITE_OK) status = Status::unavailable("commit: " + db.last_error());
  if (!status.is_ok()) {
    db.exec("ROLLBACK");
    return status;
  }
  g.written = written;
  return Status::ok();
}

std::vector<std::pair<std::int64_t, std::int64_t>> DeferredEventIndex::match(const RecentQuery& q,
                                                                             std::size_t limit) const {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  auto consider = [&q, &out](const IndexEntry& e) {
    if (!q.category.empty() && e.category != q.category) return;
    if (!q.name.empty() && e.name != q.name) return;
    if (!q.app_id.empty() && e.app_id != q.app_id) return;
    if (q.since_ns && e.ts < *q.since_ns) return;
    if (q.until_ns && e.ts >= *q.until_ns) return;
    if (q.after && std::pair(e.ts, e.seq) <= *q.after) return;
    out.emplace_back(e.ts, e.seq);
  };
  // Session lookups are short and done under one hold of the lock; scans
  // take it a slice at a time, so that the writer (whose add() needs the lock
  // exclusively) never waits for a whole scan, however long, nor for a
  // reader (at a lower priority) that the scheduler paused mid-scan. Only the
  // entries held when the query began are scanned; a generation written out
  // meanwhile stays alive for the scan through its shared_ptr.
  std::array<std::pair<std::shared_ptr<const Generation>, std::size_t>, 2> scans;
  {
    std::shared_lock lock(mu_);
    std::size_t n = 0;
    for (const auto& g : {frozen_, active_}) {
      if (!g) continue;
      if (q.session_seq) {
        auto [from, to] = g->by_session.equal_range(*q.session_seq);
        for (auto it = from; it != to; ++it) consider(g->entries[it->second]);
      } else {
        scans[n++] = {g, g->entries.size()};
      }
    }
  }
  for (const auto& [g, size] : scans) {
    for (std::size_t i = 0; i < size;) {
      std::shared_lock lock(mu_);  // the active generation's vector may have grown (moved) between slices
      for (std::size_t end = std::min(size, i + scan_slice); i < end; ++i) consider(g->entries[i]);
    }
  }
  if (out.size() > limit) {
    std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(limit), out.end());
    out.resize(limit);
  } else {
    std::sort(out.begin(), out.end());
  }
  return out;
}

std::size_t DeferredEventIndex::pending() const {
  std::shared_lock lock(mu_);
  return (active_ ? active_->entries.size() : 0) + (frozen_ ? frozen_->entries.size() : 0);
}

}  // namespace daisy::sqlite
