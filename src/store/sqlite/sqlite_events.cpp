// SqliteStore: events, rejected events and event types.
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <unordered_set>

#include "store/sqlite/sqlite_jobs.h"
#include "store/sqlite/sqlite_status.h"
#include "store/sqlite/sqlite_store.h"
#include "util/time.h"

namespace daisy {
namespace asio = boost::asio;
using sqlite::Connection;
using sqlite::Statement;

namespace {

// Queries whose cost depends on the filters (a rare name among millions of
// events) stop after this long rather than hold an I/O thread.
constexpr auto query_budget = std::chrono::seconds(2);

class QueryBudget {
 public:
  QueryBudget(Connection& db, std::chrono::microseconds slice, sqlite::WalRestartGate& gate)
      : db_(db), gate_(gate), end_(std::chrono::steady_clock::now() + query_budget), slice_(slice) {
    db_.set_deadline(end_);
  }
  ~QueryBudget() {
    finish_slice();
    db_.clear_deadline();
  }
  QueryBudget(const QueryBudget&) = delete;
  QueryBudget& operator=(const QueryBudget&) = delete;

  // A slice of a scan: interrupted after its time, or at the budget's end.
  // It begins once the WAL may restart (see WalRestartGate).
  void start_slice() {
    gate_.before_slice();
    in_slice_ = true;
    db_.set_deadline(std::min(end_, std::chrono::steady_clock::now() + slice_));
  }
  // Once the slice's statement is reset (its read transaction ended).
  void finish_slice() {
    if (in_slice_) gate_.after_slice();
    in_slice_ = false;
  }
  // After a statement ended with rc: true when only its slice ended (go on
  // with the next one), false when it failed or the budget is spent. A slice
  // that moved nothing forward makes the next one twice as long, so a scan
  // always progresses however short the slices.
  bool slice_ended(int rc, bool progressed) {
    if (rc != SQLITE_INTERRUPT || std::chrono::steady_clock::now() >= end_) return false;
    if (!progressed) slice_ *= 2;
    return true;
  }
  void end_slices() { db_.set_deadline(end_); }

 private:
  Connection& db_;
  sqlite::WalRestartGate& gate_;
  bool in_slice_ = false;
  std::chrono::steady_clock::time_point end_;
  std::chrono::microseconds slice_;
};

// The number of a session, numbering it when it is new.
Result<std::int64_t> session_number(Connection& db, const std::string& session_id) {
  {
    auto find = db.prepare("SELECT seq FROM sessions WHERE session_id = ?");
    find.bind_ref(1, session_id);
    int rc = find.step();
    if (rc == SQLITE_ROW) return find.integer(0);
    if (rc != SQLITE_DONE) return sqlite::status_of(rc, db);
  }
  auto insert = db.prepare("INSERT INTO sessions (session_id) VALUES (?)");
  insert.bind_ref(1, session_id);
  int rc = insert.step();
  if (rc != SQLITE_DONE) return sqlite::status_of(rc, db);
  return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db.handle()));
}

// Inserts the events and records what the deferred indexes need of each.
// Session numbers come from `known` (committed ones) or the database; the
// events whose number came from the database are listed in `looked_up`.
// Claims the client id of an event for its app; false when another event
// already holds it (the event is then a repeat, not stored again).
Result<bool> claim_client_id(Connection& db, const EventRow& e) {
  auto stmt = db.prepare("INSERT OR IGNORE INTO event_client_ids (app_id, id) VALUES (?, ?)");
  stmt.bind_ref(1, e.app_id).bind_ref(2, e.id);
  int rc = stmt.step();
  if (rc != SQLITE_DONE) return sqlite::status_of(rc, db);
  return sqlite3_changes(db.handle()) > 0;
}

// Inserts the batch's events but its repeats (marked in batch.repeated).
// entries[k] is the index entry of the k-th event stored; looked_up lists
// (event index, entry index) of the events whose session number was read
// from the table, not from `known`.
Status insert_event_rows(Connection& db, const EventBatch& batch,
                         const std::unordered_map<std::string, std::int64_t>& known,
                         std::vector<sqlite::IndexEntry>& entries,
                         std::vector<std::pair<std::size_t, std::size_t>>& looked_up) {
  const std::vector<EventRow>& events = batch.events;
  entries.clear();  // the work may run twice
  looked_up.clear();
  batch.repeated.clear();
  if (events.empty()) return Status::ok();
  entries.reserve(events.size());
  auto stmt = db.prepare(
      "INSERT INTO events (id, app_id, session_id, session_seq, category, name, ts, data, received_at)"
      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  const std::string* last_session = nullptr;
  std::int64_t last_number = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const EventRow& e = events[i];
    if (e.client_id) {
      auto claimed = claim_client_id(db, e);
      if (!claimed.is_ok()) return claimed.status();
      if (!claimed.value()) {
        batch.repeated.resize(events.size());
        batch.repeated[i] = true;
        continue;
      }
    }
    // A batch often holds runs of one session's events: look each run up once.
    if (!last_session || *last_session != e.session_id) {
      last_session = &e.session_id;
      if (auto it = known.find(e.session_id); it != known.end()) {
        last_number = it->second;
      } else {
        auto number = session_number(db, e.session_id);
        if (!number.is_ok()) return number.status();
        last_number = number.value();
        looked_up.emplace_back(i, entries.size());
      }
    }
    // The batch outlives the statement: bind without copying.
    stmt.bind_ref(1, e.id)
        .bind_ref(2, e.app_id)
        .bind_ref(3, e.session_id)
        .bind(4, last_number)
        .bind_ref(5, e.category)
        .bind_ref(6, e.name)
        .bind(7, e.ts_ns)
        .bind_ref(8, e.data)
        .bind(9, e.received_ns);
    int rc = stmt.step();
    if (rc != SQLITE_DONE) return sqlite::status_of(rc, db);
    stmt.reset();
    entries.push_back({sqlite3_last_insert_rowid(db.handle()), e.ts_ns, last_number, e.category, e.name, e.app_id});
  }
  return Status::ok();
}

Status insert_rejection_rows(Connection& db, const std::vector<RejectionRow>& rejections, std::size_t cap) {
  if (rejections.empty()) return Status::ok();
  {
    auto stmt = db.prepare(
        "INSERT INTO event_rejections (app_id, received_at, reason, errors, payload, truncated)"
        " VALUES (?, ?, ?, ?, ?, ?)");
    for (const RejectionRow& r : rejections) {
      stmt.bind_ref(1, r.app_id)
          .bind(2, r.received_ns)
          .bind_ref(3, r.reason)
          .bind_ref(4, r.errors)
          .bind_ref(5, r.payload)
          .bind(6, std::int64_t{r.truncated});
      int rc = stmt.step();
      if (rc != SQLITE_DONE) return sqlite::status_of(rc, db);
      stmt.reset();
    }
  }
  // Retention: keep the newest `cap` rows. A new rowid is max(rowid) + 1 and
  // only the oldest rows are ever deleted, so seqs are contiguous and this
  // keeps exactly `cap` rows at the cost of two seeks (an OFFSET would walk them).
  auto trim = db.prepare("DELETE FROM event_rejections WHERE seq <= (SELECT max(seq) FROM event_rejections) - ?");
  trim.bind(1, static_cast<std::int64_t>(cap));
  return sqlite::status_of(trim.step(), db);
}

constexpr const char* event_columns =
    "e.seq, e.id, e.app_id, e.session_id, e.category, e.name, e.ts, e.data, e.received_at";

// The seq of a session, or 0 when it has no events.
Result<std::int64_t> find_session(Connection& db, std::string_view session_id) {
  auto stmt = db.prepare("SELECT seq FROM sessions WHERE session_id = ?");
  stmt.bind(1, session_id);
  int rc = stmt.step();
  if (rc == SQLITE_ROW) return stmt.integer(0);
  if (rc == SQLITE_DONE) return std::int64_t{0};
  return sqlite::status_of(rc, db);
}

void read_event(Statement& stmt, EventRow& e) {
  e.seq = stmt.integer(0);
  e.id = stmt.text(1);
  e.app_id = stmt.text(2);
  e.session_id = stmt.text(3);
  e.category = stmt.text(4);
  e.name = stmt.text(5);
  e.ts_ns = stmt.integer(6);
  e.data = stmt.text(7);
  e.received_ns = stmt.integer(8);
}

// The first `f.limit` events of one index table that pass the filters, in
// (ts, seq) order: the most selective filter given picks the table (session,
// then category, then app, else time).
Result<std::vector<EventRow>> scan_index_table(Connection& db, QueryBudget& budget, const EventFilter& f,
                                               std::optional<std::int64_t> session_seq) {
  const bool by_session = !f.session_id.empty();
  const bool by_category = !by_session && !f.category.empty();
  const bool by_app = !by_session && !by_category && !f.app_id.empty();
  const bool table_has_name = !by_session && !by_app;  // time and category tables carry name
  // The key filters pick the index range; the other filters are checked on
  // its rows (`matched`). A row that does not match is still returned once in
  // every 4,096 (by seq), so that the scan learns where it is.
  std::string matched = "1";
  if (!f.category.empty() && !by_category) matched += " AND e.category = ?";
  if (!f.name.empty()) matched += table_has_name ? " AND x.name = ?" : " AND e.name = ?";
  if (!f.app_id.empty() && !by_app) matched += " AND e.app_id = ?";
  const bool has_row_filters = matched != "1";
  std::string sql = fmt::format("SELECT {}, {} FROM {} AS x CROSS JOIN events AS e ON e.seq = x.seq WHERE 1",
                                event_columns, has_row_filters ? "(" + matched + ")" : "1",
                                by_session    ? "event_idx_session"
                                : by_category ? "event_idx_category"
                                : by_app      ? "event_idx_app"
                                              : "event_idx_time");
  if (by_session) sql += " AND x.session_seq = ?";
  if (by_category) sql += " AND x.category = ?";
  if (by_app) sql += " AND x.app_id = ?";
  if (f.since_ns) sql += " AND x.ts >= ?";
  if (f.until_ns) sql += " AND x.ts < ?";
  sql += " AND (x.ts, x.seq) > (?, ?)";
  if (has_row_filters) sql += " AND ((" + matched + ") OR (x.seq & 4095) = 0)";
  sql += " ORDER BY x.ts, x.seq LIMIT ?";

  // A scan runs in slices of a read transaction each (its statement, in
  // autocommit mode), resumed after the last row it saw: an open read keeps
  // the WAL from being checkpointed past its snapshot, so one long scan would
  // let the WAL grow and hand the backlog to a commit when it ends.
  std::vector<EventRow> out;
  std::pair<std::int64_t, std::int64_t> position =
      f.after.value_or(std::pair(std::numeric_limits<std::int64_t>::min(), std::int64_t{0}));
  auto stmt = db.prepare_text(sql);
  for (;;) {
    auto bind_filters = [&](int& i, bool key_filters) {
      if (key_filters) {
        if (by_session) stmt.bind(i++, *session_seq);
        if (by_category) stmt.bind(i++, f.category);
        if (by_app) stmt.bind(i++, f.app_id);
        return;
      }
      if (!f.category.empty() && !by_category) stmt.bind(i++, f.category);
      if (!f.name.empty()) stmt.bind(i++, f.name);
      if (!f.app_id.empty() && !by_app) stmt.bind(i++, f.app_id);
    };
    int i = 1;
    if (has_row_filters) bind_filters(i, false);
    bind_filters(i, true);
    if (f.since_ns) stmt.bind(i++, *f.since_ns);
    if (f.until_ns) stmt.bind(i++, *f.until_ns);
    stmt.bind(i++, position.first);
    stmt.bind(i++, position.second);
    if (has_row_filters) bind_filters(i, false);
    stmt.bind(i, static_cast<std::int64_t>(f.limit - out.size()));
    budget.start_slice();
    const auto started_at = position;
    int rc;
    while ((rc = stmt.step()) == SQLITE_ROW) {
      EventRow row;
      read_event(stmt, row);
      position = {row.ts_ns, row.seq};
      if (stmt.integer(9) != 0) out.push_back(std::move(row));
      if (out.size() == f.limit) break;
    }
    stmt.reset();
    budget.finish_slice();
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) break;
    if (!budget.slice_ended(rc, position != started_at)) return sqlite::status_of(rc, db);
  }
  budget.end_slices();
  return out;
}

}  // namespace

asio::awaitable<Status> SqliteStore::insert_events(std::shared_ptr<const EventBatch> batch) {
  // The entries view strings of the batch, which the closures keep alive.
  auto entries = std::make_shared<std::vector<sqlite::IndexEntry>>();  // an entry per event, in order
  auto looked_up = std::make_shared<std::vector<std::pair<std::size_t, std::size_t>>>();
  // g++ 12 mis-destroys a lambda built in the same expression as co_await.
  sqlite::GroupWriter::Work work = [this, batch, entries, looked_up](Connection& db) {
    Status s = insert_event_rows(db, *batch, session_numbers_, *entries, *looked_up);
    if (!s.is_ok()) return s;
    s = insert_rejection_rows(db, batch->rejections, batch->rejection_cap);
    if (!s.is_ok()) return s;
    if (!batch->repeated.empty()) return sqlite::insert_outbox_rows(db, batch->jobs_of_stored_events());
    return sqlite::insert_outbox_rows(db, batch->jobs);
  };
  sqlite::GroupWriter::AfterCommit committed = [this, batch, entries, looked_up] {
    // Numbers are remembered only once committed: a rolled-back write's
    // new sessions do not exist.
    if (session_numbers_.size() > max_known_sessions) session_numbers_.clear();
    for (auto [event, entry] : *looked_up)
      session_numbers_.try_emplace(batch->events[event].session_id, (*entries)[entry].session_seq);
    event_index_.add(*entries);
  };
  co_return co_await write(std::move(work), std::move(committed));
}

Result<std::vector<EventRow>> SqliteStore::list_events(const EventFilter& f) {
  // One index table serves the query: the most selective filter given picks
  // it (session, then category, then app, else time); the other filters are
  // checked on its rows. Each table's key ends with (ts, seq), so rows come
  // out in the reply's order. The entries still in memory are merged in.
  const bool by_session = !f.session_id.empty();
  auto db = reader();
  QueryBudget budget(*db, options_.scan_slice, wal_restart_gate_);
  sqlite::RecentQuery recent_query;
  if (by_session) {
    auto session = find_session(*db, f.session_id);
    if (!session.is_ok()) return session.status();
    if (session.value() == 0) return std::vector<EventRow>{};
    recent_query.session_seq = session.value();
  }
  recent_query.category = f.category;
  recent_query.name = f.name;
  recent_query.app_id = f.app_id;
  recent_query.since_ns = f.since_ns;
  recent_query.until_ns = f.until_ns;
  recent_query.after = f.after;
  // Before the tables are read (see DeferredEventIndex::match).
  auto recent = event_index_.match(recent_query, f.limit);

  auto scanned = scan_index_table(*db, budget, f, recent_query.session_seq);
  if (!scanned.is_ok()) return scanned.status();
  std::vector<EventRow> out = std::move(scanned.value());
  if (recent.empty()) return out;

  // Each list holds the first `limit` of its own matches, so the first
  // `limit` of their union are among them.
  std::unordered_set<std::int64_t> seen;
  for (const EventRow& e : out) seen.insert(e.seq);
  auto by_seq = db->prepare_text(fmt::format("SELECT {} FROM events AS e WHERE e.seq = ?", event_columns));
  for (const auto& [ts, seq] : recent) {
    if (seen.count(seq)) continue;
    by_seq.bind(1, seq);
    int rc = by_seq.step();
    if (rc == SQLITE_ROW)
      read_event(by_seq, out.emplace_back());
    else if (rc != SQLITE_DONE)
      return sqlite::status_of(rc, *db);
    by_seq.reset();
  }
  std::sort(out.begin(), out.end(),
            [](const EventRow& a, const EventRow& b) { return std::pair(a.ts_ns, a.seq) < std::pair(b.ts_ns, b.seq); });
  if (out.size() > f.limit) out.resize(f.limit);
  return out;
}

Result<std::vector<EventRow>> SqliteStore::events_received_since(const EventsSince& q) {
  auto db = reader();
  QueryBudget budget(*db, options_.scan_slice, wal_restart_gate_);
  auto last = db->prepare("SELECT coalesce(max(seq), 0) FROM events");
  int rc = last.step();
  if (rc != SQLITE_ROW) return sqlite::status_of(rc, *db);
  std::int64_t max_seq = last.integer(0);
  auto at = db->prepare("SELECT seq, received_at FROM events WHERE seq >= ? ORDER BY seq LIMIT 1");
  EventProbe probe = [&](std::int64_t seq) -> Result<std::optional<std::pair<std::int64_t, std::int64_t>>> {
    at.bind(1, seq);
    int step = at.step();
    std::optional<std::pair<std::int64_t, std::int64_t>> found;
    if (step == SQLITE_ROW) found = std::pair(at.integer(0), at.integer(1));
    at.reset();
    if (step != SQLITE_ROW && step != SQLITE_DONE) return sqlite::status_of(step, *db);
    return found;
  };
  auto start = first_seq_received_since(probe, max_seq, q.since_ns);
  if (!start.is_ok()) return start.status();
  static const std::string sql = fmt::format(
      "SELECT {} FROM events AS e WHERE e.seq >= ?1 AND (?2 = '' OR e.app_id = ?2) AND (?3 = '' OR e.category = ?3)"
      " ORDER BY e.seq LIMIT ?4",
      event_columns);
  auto stmt = db->prepare(sql.c_str());
  stmt.bind(1, start.value()).bind(2, q.app_id).bind(3, q.category).bind(4, static_cast<std::int64_t>(q.limit));
  std::vector<EventRow> out;
  while ((rc = stmt.step()) == SQLITE_ROW) read_event(stmt, out.emplace_back());
  if (rc != SQLITE_DONE) return sqlite::status_of(rc, *db);
  return out;
}

Result<SessionSummary> SqliteStore::session_summary(std::string_view session_id, std::string_view app_id) {
  auto db = reader();
  auto session = find_session(*db, session_id);
  if (!session.is_ok()) return session.status();
  if (session.value() == 0) return Status::not_found("session");
  sqlite::RecentQuery recent_query;
  recent_query.session_seq = session.value();
  recent_query.app_id = app_id;
  // Before the tables are read (see DeferredEventIndex::match).
  auto recent = event_index_.match(recent_query, std::numeric_limits<std::size_t>::max());
  // One snapshot, begun after the match, for the count and the checks of the
  // entries in memory.
  sqlite::ReadTransaction snapshot(*db);

  auto stmt = app_id.empty()
                  ? db->prepare("SELECT count(*), min(ts), max(ts) FROM event_idx_session WHERE session_seq = ?")
                  : db->prepare(
                        "SELECT count(*), min(x.ts), max(x.ts) FROM event_idx_session AS x"
                        " CROSS JOIN events AS e ON e.seq = x.seq WHERE x.session_seq = ? AND e.app_id = ?");
  stmt.bind(1, session.value());
  if (!app_id.empty()) stmt.bind(2, app_id);
  int rc = stmt.step();
  if (rc != SQLITE_ROW) return sqlite::status_of(rc, *db);
  SessionSummary s{stmt.integer(0), stmt.integer(1), stmt.integer(2)};

  // An entry in memory may also be in the table already (being written).
  auto in_table = db->prepare("SELECT 1 FROM event_idx_session WHERE session_seq = ? AND ts = ? AND seq = ?");
  for (const auto& [ts, seq] : recent) {
    in_table.bind(1, session.value()).bind(2, ts).bind(3, seq);
    rc = in_table.step();
    in_table.reset();
    if (rc == SQLITE_ROW) continue;
    if (rc != SQLITE_DONE) return sqlite::status_of(rc, *db);
    s.first_ns = s.count == 0 ? ts : std::min(s.first_ns, ts);
    s.last_ns = s.count == 0 ? ts : std::max(s.last_ns, ts);
    ++s.count;
  }
  if (s.count == 0) return Status::not_found("session");
  return s;
}

Result<std::vector<RejectionRow>> SqliteStore::list_rejections(const RejectionFilter& f) {
  std::string sql =
      "SELECT seq, app_id, received_at, reason, errors, payload, truncated FROM event_rejections"
      " WHERE seq > ?";
  if (!f.app_id.empty()) sql += " AND app_id = ?";
  if (f.since_ns) sql += " AND received_at >= ?";
  if (f.until_ns) sql += " AND received_at < ?";
  sql += " ORDER BY seq LIMIT ?";
  auto db = reader();
  QueryBudget budget(*db, options_.scan_slice, wal_restart_gate_);
  auto stmt = db->prepare_text(sql);
  int i = 1;
  stmt.bind(i++, f.after_seq);
  if (!f.app_id.empty()) stmt.bind(i++, f.app_id);
  if (f.since_ns) stmt.bind(i++, *f.since_ns);
  if (f.until_ns) stmt.bind(i++, *f.until_ns);
  stmt.bind(i, static_cast<std::int64_t>(f.limit));
  std::vector<RejectionRow> out;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) {
    RejectionRow& r = out.emplace_back();
    r.seq = stmt.integer(0);
    r.app_id = stmt.text(1);
    r.received_ns = stmt.integer(2);
    r.reason = stmt.text(3);
    r.errors = stmt.text(4);
    r.payload = stmt.text(5);
    r.truncated = stmt.integer(6) != 0;
  }
  if (rc != SQLITE_DONE) return sqlite::status_of(rc, *db);
  return out;
}

Result<std::vector<EventTypeRow>> SqliteStore::list_event_types() {
  return list_event_types(nullptr, std::numeric_limits<std::int64_t>::max());
}

Result<std::vector<EventTypeRow>> SqliteStore::list_event_types(const EventTypeKey* after, std::size_t limit) {
  auto db = reader();
  auto stmt = db->prepare(
      "SELECT category, name, schema, created_at, updated_at FROM event_types"
      " WHERE ? OR (category, name) > (?, ?) ORDER BY category, name LIMIT ?");
  stmt.bind(1, std::int64_t{after == nullptr})
      .bind(2, after ? after->category : std::string())
      .bind(3, after ? after->name : std::string())
      .bind(4, static_cast<std::int64_t>(limit));
  std::vector<EventTypeRow> out;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) {
    out.push_back({stmt.text(0), stmt.text(1), stmt.text(2), stmt.text(3), stmt.text(4)});
  }
  if (rc != SQLITE_DONE) return sqlite::status_of(rc, *db);
  return out;
}

Result<EventTypeRow> SqliteStore::get_event_type(std::string_view category, std::string_view name) {
  auto db = reader();
  auto stmt = db->prepare(
      "SELECT category, name, schema, created_at, updated_at FROM event_types WHERE category = ? AND name = ?");
  stmt.bind(1, category).bind(2, name);
  int rc = stmt.step();
  if (rc == SQLITE_ROW) return EventTypeRow{stmt.text(0), stmt.text(1), stmt.text(2), stmt.text(3), stmt.text(4)};
  if (rc == SQLITE_DONE) return Status::not_found("event type");
  return sqlite::status_of(rc, *db);
}

asio::awaitable<Result<bool>> SqliteStore::put_event_type(EventTypeRow row) {
  auto created = std::make_shared<bool>(false);
  // g++ 12 mis-destroys a lambda built in the same expression as co_await.
  sqlite::GroupWriter::Work work = [row = std::move(row), created](Connection& db) {
    auto update = db.prepare("UPDATE event_types SET schema = ?, updated_at = ? WHERE category = ? AND name = ?");
    update.bind(1, row.schema).bind(2, row.updated_at).bind(3, row.category).bind(4, row.name);
    Status s = sqlite::status_of(update.step(), db);
    if (!s.is_ok()) return s;
    *created = sqlite3_changes(db.handle()) == 0;
    if (!*created) return Status::ok();
    auto insert =
        db.prepare("INSERT INTO event_types (category, name, schema, created_at, updated_at) VALUES (?, ?, ?, ?, ?)");
    insert.bind(1, row.category).bind(2, row.name).bind(3, row.schema).bind(4, row.created_at).bind(5, row.updated_at);
    return sqlite::status_of(insert.step(), db);
  };
  Status status = co_await write(std::move(work));
  if (!status.is_ok()) co_return status;
  co_return *created;
}

asio::awaitable<Status> SqliteStore::delete_event_type(std::string category, std::string name) {
  // g++ 12 mis-destroys a lambda built in the same expression as co_await.
  sqlite::GroupWriter::Work work = [category = std::move(category), name = std::move(name)](Connection& db) {
    auto stmt = db.prepare("DELETE FROM event_types WHERE category = ? AND name = ?");
    stmt.bind(1, category).bind(2, name);
    Status s = sqlite::status_of(stmt.step(), db);
    if (s.is_ok() && sqlite3_changes(db.handle()) == 0) return Status::not_found("event type");
    return s;
  };
  co_return co_await write(std::move(work));
}

}  // namespace daisy
