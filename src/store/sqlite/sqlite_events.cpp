// SqliteStore: events, rejected events and event types.
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
  explicit QueryBudget(Connection& db) : db_(db) { db_.set_deadline(std::chrono::steady_clock::now() + query_budget); }
  ~QueryBudget() { db_.clear_deadline(); }
  QueryBudget(const QueryBudget&) = delete;
  QueryBudget& operator=(const QueryBudget&) = delete;

 private:
  Connection& db_;
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

Status insert_event_rows(Connection& db, const std::vector<EventRow>& events) {
  if (events.empty()) return Status::ok();
  auto stmt = db.prepare(
      "INSERT INTO events (id, app_id, session_id, session_seq, category, name, ts, data, received_at)"
      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  const std::string* last_session = nullptr;
  std::int64_t last_number = 0;
  for (const EventRow& e : events) {
    // A batch often holds runs of one session's events: look each run up once.
    if (!last_session || *last_session != e.session_id) {
      auto number = session_number(db, e.session_id);
      if (!number.is_ok()) return number.status();
      last_session = &e.session_id;
      last_number = number.value();
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
  auto trim = db.prepare(
      "DELETE FROM event_rejections WHERE seq <= (SELECT max(seq) FROM event_rejections) - ?");
  trim.bind(1, static_cast<std::int64_t>(cap));
  return sqlite::status_of(trim.step(), db);
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

}  // namespace

asio::awaitable<Status> SqliteStore::insert_events(std::shared_ptr<const EventBatch> batch) {
  // g++ 12 mis-destroys a lambda built in the same expression as co_await.
  sqlite::GroupWriter::Work work = [batch](Connection& db) {
    Status s = insert_event_rows(db, batch->events);
    if (!s.is_ok()) return s;
    return insert_rejection_rows(db, batch->rejections, batch->rejection_cap);
  };
  co_return co_await write(std::move(work));
}

Result<std::vector<EventRow>> SqliteStore::list_events(const EventFilter& f) {
  // The WHERE clause names only the filters given, and one index serves it:
  // the most selective filter given picks it (session, then category, then
  // app, else time); the others are written as +column so that SQLite checks
  // them on the rows of that index instead of choosing an index that would
  // need a sort or a long scan. Each index ends with ts (and the rowid, seq),
  // so the rows come out in the reply's order.
  const bool by_session = !f.session_id.empty();
  const bool by_category = !by_session && !f.category.empty();
  const bool by_app = !by_session && !by_category && !f.app_id.empty();
  std::string sql =
      "SELECT seq, id, app_id, session_id, category, name, ts, data, received_at FROM events WHERE 1";
  if (!f.session_id.empty()) sql += " AND session_seq = (SELECT seq FROM sessions WHERE session_id = ?)";
  if (!f.category.empty()) sql += by_category ? " AND category = ?" : " AND +category = ?";
  if (!f.name.empty()) sql += " AND +name = ?";
  if (!f.app_id.empty()) sql += by_app ? " AND app_id = ?" : " AND +app_id = ?";
  if (f.since_ns) sql += " AND ts >= ?";
  if (f.until_ns) sql += " AND ts < ?";
  if (f.after) sql += " AND (ts, seq) > (?, ?)";
  sql += " ORDER BY ts, seq LIMIT ?";

  auto db = reader();
  QueryBudget budget(*db);
  auto stmt = db->prepare_text(sql);
  int i = 1;
  if (!f.session_id.empty()) stmt.bind(i++, f.session_id);
  if (!f.category.empty()) stmt.bind(i++, f.category);
  if (!f.name.empty()) stmt.bind(i++, f.name);
  if (!f.app_id.empty()) stmt.bind(i++, f.app_id);
  if (f.since_ns) stmt.bind(i++, *f.since_ns);
  if (f.until_ns) stmt.bind(i++, *f.until_ns);
  if (f.after) {
    stmt.bind(i++, f.after->first);
    stmt.bind(i++, f.after->second);
  }
  stmt.bind(i, static_cast<std::int64_t>(f.limit));

  std::vector<EventRow> out;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) read_event(stmt, out.emplace_back());
  if (rc != SQLITE_DONE) return sqlite::status_of(rc, *db);
  return out;
}

Result<SessionSummary> SqliteStore::session_summary(std::string_view session_id, std::string_view app_id) {
  auto db = reader();
  auto stmt = app_id.empty()
                  ? db->prepare(
                        "SELECT count(*), min(ts), max(ts) FROM events"
                        " WHERE session_seq = (SELECT seq FROM sessions WHERE session_id = ?)")
                  : db->prepare(
                        "SELECT count(*), min(ts), max(ts) FROM events"
                        " WHERE session_seq = (SELECT seq FROM sessions WHERE session_id = ?) AND +app_id = ?");
  stmt.bind(1, session_id);
  if (!app_id.empty()) stmt.bind(2, app_id);
  int rc = stmt.step();
  if (rc != SQLITE_ROW) return sqlite::status_of(rc, *db);
  SessionSummary s{stmt.integer(0), stmt.integer(1), stmt.integer(2)};
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
  QueryBudget budget(*db);
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
  auto db = reader();
  auto stmt = db->prepare(
      "SELECT category, name, schema, created_at, updated_at FROM event_types ORDER BY category, name");
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
    auto insert = db.prepare(
        "INSERT INTO event_types (category, name, schema, created_at, updated_at) VALUES (?, ?, ?, ?, ?)");
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
