// PostgresStore: events, rejected events and event types.
//
// A batch's events go in with one INSERT over unnest() of array parameters.
// Reads use the plain indexes of 0003_events.sql, each ordered by (ts, seq)
// after its leading column, so a page stops after `limit` matches. The
// rejections log keeps SQLite's contiguous seqs (see insert_rejection_rows).
#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <limits>
#include <set>

#include "store/postgres/pg_locks.h"
#include "store/postgres/pg_store.h"

namespace daisy {
namespace asio = boost::asio;
using pg::Connection;
using pg::Rows;

namespace {

// Room for n quoted elements of `bytes` bytes in all (escapes aside).
std::size_t room(std::size_t n, std::size_t bytes) { return bytes + 3 * n; }

using Batches = std::vector<std::shared_ptr<const EventBatch>>;

// Claims the client ids of the flush's events, one statement for all, and
// marks in each batch the events whose id another event already holds (they
// are not stored again). A concurrent claim of the same id by another node
// waits on the primary key until that transaction ends, then wins or loses.
Status claim_client_ids(Connection& db, const Batches& batches) {
  std::size_t n = 0;
  for (const auto& batch : batches) {
    batch->repeated.clear();  // the work may run twice
    for (const EventRow& e : batch->events) n += e.client_id ? 1 : 0;
  }
  if (n == 0) return Status::ok();
  pg::ArrayLiteral app(room(n, 36 * n)), id(room(n, 36 * n));
  for (const auto& batch : batches) {
    for (const EventRow& e : batch->events) {
      if (!e.client_id) continue;
      app.add(e.app_id);
      id.add(e.id);
    }
  }
  Rows claimed = db.query(
      "INSERT INTO event_client_ids (app_id, id) SELECT * FROM unnest($1::text[], $2::text[])"
      " ON CONFLICT DO NOTHING RETURNING app_id, id",
      app.take(), id.take());
  if (!claimed.ok()) return claimed.status();
  if (static_cast<std::size_t>(claimed.size()) == n) return Status::ok();
  // An id sent twice in one flush (by two requests) is returned once: the
  // first event to hold it is stored, the other is a repeat.
  std::set<std::pair<std::string, std::string>> won;
  for (int i = 0; i < claimed.size(); ++i) won.emplace(claimed.text(i, 0), claimed.text(i, 1));
  for (const auto& batch : batches) {
    for (std::size_t i = 0; i < batch->events.size(); ++i) {
      const EventRow& e = batch->events[i];
      if (!e.client_id || won.erase({e.app_id, e.id}) > 0) continue;
      batch->repeated.resize(batch->events.size());
      batch->repeated[i] = true;
    }
  }
  return Status::ok();
}

// Inserts the flush's events but the repeats claim_client_ids marked.
Status insert_event_rows(Connection& db, const Batches& batches) {
  std::size_t n = 0, data_bytes = 0, category_bytes = 0, name_bytes = 0;
  for (const auto& batch : batches) {
    for (std::size_t i = 0; i < batch->events.size(); ++i) {
      if (batch->is_repeated(i)) continue;
      const EventRow& e = batch->events[i];
      ++n;
      data_bytes += e.data.size();
      category_bytes += e.category.size();
      name_bytes += e.name.size();
    }
  }
  if (n == 0) return Status::ok();
  pg::ArrayLiteral id(room(n, 36 * n)), app(room(n, 36 * n)), session(room(n, 36 * n)),
      category(room(n, category_bytes)), name(room(n, name_bytes)), ts(20 * n),
      data(room(n, data_bytes + data_bytes / 8)), received(20 * n);
  for (const auto& batch : batches) {
    for (std::size_t i = 0; i < batch->events.size(); ++i) {
      if (batch->is_repeated(i)) continue;
      const EventRow& e = batch->events[i];
      id.add(e.id);
      app.add(e.app_id);
      session.add(e.session_id);
      category.add(e.category);
      name.add(e.name);
      ts.add(e.ts_ns);
      data.add(e.data);
      received.add(e.received_ns);
    }
  }
  // Seqs follow the batches' order (the ordinality), as SQLite's do.
  return db
      .query(
          "INSERT INTO events (id, app_id, session_id, category, name, ts, data, received_at)"
          " SELECT id, app_id, session_id, category, name, ts, data, received_at"
          " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[],"
          " $8::bigint[]) WITH ORDINALITY AS u (id, app_id, session_id, category, name, ts, data, received_at, n)"
          " ORDER BY n",
          id.take(), app.take(), session.take(), category.take(), name.take(), ts.take(), data.take(), received.take())
      .status();
}

// SQLite numbers rejections max(seq) + 1 and trims to the newest `cap` by
// seq arithmetic, which is exact because its seqs have no gaps. An identity
// column leaves a gap at every rolled-back insert, so the seqs are given
// here the same way, under a lock held to the commit: contiguous, in commit
// order (a cursor never passes a rejection committed later), and the trim
// costs two index seeks instead of a walk over `cap` rows. The price: batches
// that log rejections commit one at a time (events alone do not take the lock).
Status insert_rejection_rows(Connection& db, const Batches& batches) {
  std::size_t n = 0, payload_bytes = 0, errors_bytes = 0, cap = 0;
  for (const auto& batch : batches) {
    if (batch->rejections.empty()) continue;
    cap = n == 0 ? batch->rejection_cap : std::min(cap, batch->rejection_cap);
    for (const RejectionRow& r : batch->rejections) {
      ++n;
      payload_bytes += r.payload.size();
      errors_bytes += r.errors.size();
    }
  }
  if (n == 0) return Status::ok();
  // Its own statement: the max(seq) below must be read after the lock is held.
  if (Rows r = db.query("SELECT pg_advisory_xact_lock($1)", pg::locks::rejections); !r.ok()) return r.status();
  pg::ArrayLiteral app(room(n, 36 * n)), received(20 * n), reason(room(n, 16 * n)),
      errors(room(n, errors_bytes + errors_bytes / 4)), payload(room(n, payload_bytes + payload_bytes / 8)),
      truncated(2 * n);
  for (const auto& batch : batches) {
    for (const RejectionRow& r : batch->rejections) {
      app.add(r.app_id);
      received.add(r.received_ns);
      reason.add(r.reason);
      errors.add(r.errors);
      payload.add(r.payload);
      truncated.add(r.truncated);
    }
  }
  Rows inserted = db.query(
      "INSERT INTO event_rejections (seq, app_id, received_at, reason, errors, payload, truncated)"
      " OVERRIDING SYSTEM VALUE"
      " SELECT m.top + u.n, u.app_id, u.received_at, u.reason, u.errors, u.payload, u.truncated"
      " FROM (SELECT coalesce(max(seq), 0) AS top FROM event_rejections) AS m,"
      " unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::boolean[]) WITH ORDINALITY"
      " AS u (app_id, received_at, reason, errors, payload, truncated, n)",
      app.take(), received.take(), reason.take(), errors.take(), payload.take(), truncated.take());
  if (!inserted.ok()) return inserted.status();
  // Keeps the newest `cap` rows (the newest one always, as cap >= 1, so
  // max(seq) never goes back).
  auto keep = static_cast<std::int64_t>(std::min<std::size_t>(cap, std::numeric_limits<std::int64_t>::max()));
  return db
      .query("DELETE FROM event_rejections WHERE seq <= (SELECT max(seq) FROM event_rejections) - $1::bigint", keep)
      .status();
}

constexpr const char* event_columns = "seq, id, app_id, session_id, category, name, ts, data, received_at";
constexpr const char* joined_event_columns =
    "e.seq, e.id, e.app_id, e.session_id, e.category, e.name, e.ts, e.data, e.received_at";

EventRow event_of(const Rows& r, int i) {
  EventRow e;
  e.seq = r.integer(i, 0);
  e.id = r.text(i, 1);
  e.app_id = r.text(i, 2);
  e.session_id = r.text(i, 3);
  e.category = r.text(i, 4);
  e.name = r.text(i, 5);
  e.ts_ns = r.integer(i, 6);
  e.data = r.text(i, 7);
  e.received_ns = r.integer(i, 8);
  return e;
}

std::int64_t limit_of(std::size_t limit) {
  return static_cast<std::int64_t>(std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max()));
}

RejectionRow rejection_of(const Rows& r, int i) {
  RejectionRow row;
  row.seq = r.integer(i, 0);
  row.app_id = r.text(i, 1);
  row.received_ns = r.integer(i, 2);
  row.reason = r.text(i, 3);
  row.errors = r.text(i, 4);
  row.payload = r.text(i, 5);
  row.truncated = r.boolean(i, 6);
  return row;
}

EventTypeRow event_type_of(const Rows& r, int i) {
  return EventTypeRow{r.text(i, 0), r.text(i, 1), r.text(i, 2), r.text(i, 3), r.text(i, 4)};
}

// The writes of one flush: every batch's events, rejections and jobs, each
// kind in one statement.
Status insert_event_batches(Connection& db, const Batches& batches) {
  if (Status s = claim_client_ids(db, batches); !s.is_ok()) return s;
  if (Status s = insert_event_rows(db, batches); !s.is_ok()) return s;
  if (Status s = insert_rejection_rows(db, batches); !s.is_ok()) return s;
  std::vector<const std::vector<JobRow>*> jobs;
  std::deque<std::vector<JobRow>> kept;  // the jobs of batches that hold repeats
  for (const auto& batch : batches) {
    if (batch->jobs.empty()) continue;
    jobs.push_back(batch->repeated.empty() ? &batch->jobs : &kept.emplace_back(batch->jobs_of_stored_events()));
  }
  return insert_job_rows(db, jobs);
}

}  // namespace

// Concurrent requests' batches are written together: each request would
// otherwise cost the writer a statement per kind of row, and on a busy node
// those round trips, not the rows, bound the rate. A request joins the flush
// that is queued and not yet taken, else queues one; the flush takes what
// has joined when a writer runs it, so the busier the writers, the more each
// flush carries. One flush is one write: its batches commit together, and
// all of them fail if it fails.
asio::awaitable<Status> PostgresStore::insert_events(std::shared_ptr<const EventBatch> batch) {
  writes_.fetch_add(1, std::memory_order_relaxed);
  std::function<void(pg::Writer::Done)> start = [this, batch = std::move(batch)](pg::Writer::Done done) mutable {
    queue_events({std::move(batch), std::move(done)});
  };
  co_return co_await completion(std::move(start));
}

void PostgresStore::queue_events(EventWrite write) {
  {
    std::lock_guard lock(events_mu_);
    events_waiting_.push_back(std::move(write));
    if (events_flush_queued_) return;
    events_flush_queued_ = true;
  }
  submit_event_flush();
}

void PostgresStore::submit_event_flush() {
  // Bounds one flush's statements; what is left waits for the next flush.
  constexpr std::size_t max_batches = 512, max_events = 20000;
  struct Flush {
    bool taken = false;
    std::vector<EventWrite> writes;
    Batches batches;
  };
  auto flush = std::make_shared<Flush>();
  auto take = [this, flush] {
    bool more = false;
    {
      std::lock_guard lock(events_mu_);
      std::size_t count = 0, events = 0;
      while (count < events_waiting_.size() && count < max_batches &&
             (count == 0 || events + events_waiting_[count].batch->events.size() <= max_events)) {
        events += events_waiting_[count].batch->events.size();
        ++count;
      }
      for (std::size_t i = 0; i < count; ++i) {
        flush->batches.push_back(events_waiting_[i].batch);
        flush->writes.push_back(std::move(events_waiting_[i]));
      }
      events_waiting_.erase(events_waiting_.begin(), events_waiting_.begin() + static_cast<std::ptrdiff_t>(count));
      more = !events_waiting_.empty();
      events_flush_queued_ = more;
    }
    flush->taken = true;
    if (more) submit_event_flush();
  };
  // Taken at the first run: a run again (after a rollback) writes the same batches.
  pg::Writer::Work work = [flush, take](Connection& db) {
    if (!flush->taken) take();
    return insert_event_batches(db, flush->batches);
  };
  pg::Writer::Done done = [flush, take](Status status) {
    if (!flush->taken) take();  // never run (the store closed): its requests fail
    for (auto& w : flush->writes) w.done(status);
  };
  writer_->submit(std::move(work), std::move(done));
}

Result<std::vector<EventRow>> PostgresStore::list_events(const EventFilter& f) {
  // Every filter is a condition on one query ordered by (ts, seq); the
  // planner takes the index of the most selective leading column (session,
  // category, app or time), each ordered by (ts, seq) after it. Without a
  // session, a second filter (name, or app within a category) is checked on
  // the entries of an index that carries it (INCLUDE columns) by an
  // index-only scan that picks the page's seqs; only those rows are read.
  const bool index_only = f.session_id.empty() && (!f.name.empty() || (!f.category.empty() && !f.app_id.empty()));
  pg::Params params;
  std::string where;
  auto condition = [&](std::string_view column_op, pg::Param value) {
    params.push_back(std::move(value));
    where += where.empty() ? " WHERE " : " AND ";
    where += fmt::format("{} ${}", column_op, params.size());
  };
  if (!f.session_id.empty()) condition("session_id =", f.session_id);
  if (!f.category.empty()) condition("category =", f.category);
  if (!f.name.empty()) condition("name =", f.name);
  if (!f.app_id.empty()) condition("app_id =", f.app_id);
  if (f.since_ns) condition("ts >=", *f.since_ns);
  if (f.until_ns) condition("ts <", *f.until_ns);
  if (f.after) {
    params.emplace_back(f.after->first);
    params.emplace_back(f.after->second);
    where += where.empty() ? " WHERE " : " AND ";
    where += fmt::format("(ts, seq) > (${}::bigint, ${}::bigint)", params.size() - 1, params.size());
  }
  params.emplace_back(limit_of(f.limit));
  std::string sql = index_only ? fmt::format(
                                     "SELECT {} FROM (SELECT seq, ts FROM events{} ORDER BY ts, seq LIMIT ${}) AS x"
                                     " JOIN events AS e ON e.seq = x.seq ORDER BY x.ts, x.seq",
                                     joined_event_columns, where, params.size())
                               : fmt::format("SELECT {} FROM events{} ORDER BY ts, seq LIMIT ${}", event_columns, where,
                                             params.size());
  return read([&](Connection& db) { return pg::all_rows(db.run(sql, params), event_of); });
}

Result<std::vector<EventRow>> PostgresStore::events_received_since(const EventsSince& q) {
  return read([&](Connection& db) -> Result<std::vector<EventRow>> {
    Rows last = db.query("SELECT coalesce(max(seq), 0) FROM events");
    if (!last.ok()) return last.status();
    EventProbe probe = [&db](std::int64_t seq) -> Result<std::optional<std::pair<std::int64_t, std::int64_t>>> {
      Rows at = db.query("SELECT seq, received_at FROM events WHERE seq >= $1 ORDER BY seq LIMIT 1", seq);
      if (!at.ok()) return at.status();
      if (at.empty()) return std::optional<std::pair<std::int64_t, std::int64_t>>{};
      return std::optional(std::pair(at.integer(0, 0), at.integer(0, 1)));
    };
    auto start = first_seq_received_since(probe, last.integer(0, 0), q.since_ns);
    if (!start.is_ok()) return start.status();
    static const std::string sql = fmt::format(
        "SELECT {} FROM events WHERE seq >= $1 AND ($2 = '' OR app_id = $2) AND ($3 = '' OR category = $3)"
        " ORDER BY seq LIMIT $4",
        event_columns);
    return pg::all_rows(db.query(sql, start.value(), q.app_id, q.category, limit_of(q.limit)), event_of);
  });
}

Result<SessionSummary> PostgresStore::session_summary(std::string_view session_id, std::string_view app_id) {
  return read([&](Connection& db) -> Result<SessionSummary> {
    Rows r = app_id.empty()
                 ? db.query("SELECT count(*), min(ts), max(ts) FROM events WHERE session_id = $1", session_id)
                 : db.query("SELECT count(*), min(ts), max(ts) FROM events WHERE session_id = $1 AND app_id = $2",
                            session_id, app_id);
    if (!r.ok()) return r.status();
    SessionSummary s{r.integer(0, 0), r.integer(0, 1), r.integer(0, 2)};
    if (s.count == 0) return Status::not_found("session");
    return s;
  });
}

Result<std::vector<RejectionRow>> PostgresStore::list_rejections(const RejectionFilter& f) {
  pg::Params params{f.after_seq};
  std::string sql =
      "SELECT seq, app_id, received_at, reason, errors, payload, truncated FROM event_rejections WHERE seq > $1";
  auto condition = [&](std::string_view column_op, pg::Param value) {
    params.push_back(std::move(value));
    sql += fmt::format(" AND {} ${}", column_op, params.size());
  };
  if (!f.app_id.empty()) condition("app_id =", f.app_id);
  if (f.since_ns) condition("received_at >=", *f.since_ns);
  if (f.until_ns) condition("received_at <", *f.until_ns);
  params.emplace_back(limit_of(f.limit));
  sql += fmt::format(" ORDER BY seq LIMIT ${}", params.size());
  return read([&](Connection& db) { return pg::all_rows(db.run(sql, params), rejection_of); });
}

Result<std::vector<EventTypeRow>> PostgresStore::list_event_types() {
  return list_event_types(nullptr, std::numeric_limits<std::int64_t>::max());
}

Result<std::vector<EventTypeRow>> PostgresStore::list_event_types(const EventTypeKey* after, std::size_t limit) {
  return read([&](Connection& db) -> Result<std::vector<EventTypeRow>> {
    // Byte order, as SQLite sorts, whatever the database's collation.
    Rows r = db.query(
        "SELECT category, name, schema, created_at, updated_at FROM event_types"
        " WHERE $1 OR category COLLATE \"C\" > $2 OR (category = $2 AND name COLLATE \"C\" > $3)"
        " ORDER BY category COLLATE \"C\", name COLLATE \"C\" LIMIT $4",
        after == nullptr, after ? after->category : std::string(), after ? after->name : std::string(),
        static_cast<std::int64_t>(limit));
    return pg::all_rows(r, event_type_of);
  });
}

Result<EventTypeRow> PostgresStore::get_event_type(std::string_view category, std::string_view name) {
  return read([&](Connection& db) -> Result<EventTypeRow> {
    Rows r = db.query(
        "SELECT category, name, schema, created_at, updated_at FROM event_types WHERE category = $1 AND name = $2",
        category, name);
    return pg::first_row(r, event_type_of, "event type");
  });
}

asio::awaitable<Result<bool>> PostgresStore::put_event_type(EventTypeRow row) {
  // g++ 12 mis-destroys a lambda built in the same expression as co_await.
  std::function<Status(Connection&, bool&)> work = [row = std::move(row)](Connection& db, bool& created) {
    // xmax is 0 on a row this statement inserted, set on one it updated.
    Rows r = db.query(
        "INSERT INTO event_types (category, name, schema, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (category, name) DO UPDATE SET schema = excluded.schema, updated_at = excluded.updated_at"
        " RETURNING xmax = 0",
        row.category, row.name, row.schema, row.created_at, row.updated_at);
    if (!r.ok()) return r.status();
    created = r.size() == 1 && r.boolean(0, 0);
    return Status::ok();
  };
  co_return co_await write_returning(std::move(work));
}

asio::awaitable<Status> PostgresStore::delete_event_type(std::string category, std::string name) {
  // g++ 12 mis-destroys a lambda built in the same expression as co_await.
  pg::Writer::Work work = [category = std::move(category), name = std::move(name)](Connection& db) {
    Rows r = db.query("DELETE FROM event_types WHERE category = $1 AND name = $2", category, name);
    if (!r.ok()) return r.status();
    if (r.affected() == 0) return Status::not_found("event type");
    return Status::ok();
  };
  co_return co_await write(std::move(work));
}

}  // namespace daisy
