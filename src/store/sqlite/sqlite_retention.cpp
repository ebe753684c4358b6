// SqliteStore: deleting what has outlived its retention (store/retention_store.h).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "store/sqlite/sqlite_status.h"
#include "store/sqlite/sqlite_store.h"
#include "util/time.h"

namespace daisy {
namespace asio = boost::asio;
using sqlite::Connection;
using sqlite::Statement;

namespace {

Status done_or_error(Statement& stmt, Connection& db) {
  int rc = stmt.step();
  stmt.reset();
  return sqlite::status_of(rc, db);
}

// The oldest events by arrival (seq), up to the first one received at or
// after the cutoff: arrival order and reception time agree but for the few
// events of one group commit, so this looks at no more rows than it deletes
// (and one). Only events whose index entries are in the tables
// (event_index_state): the entries still in memory stay consistent.
Status delete_expired_events(Connection& db, std::int64_t before_ns, std::size_t limit, ExpirySlice& slice) {
  auto state = db.prepare("SELECT indexed_through FROM event_index_state WHERE id = 1");
  std::int64_t indexed_through = state.step() == SQLITE_ROW ? state.integer(0) : 0;
  state.reset();
  struct Doomed {
    std::int64_t seq, ts, session_seq;
    std::string category, app_id, id;
  };
  std::vector<Doomed> doomed;
  bool pass_over = false;
  auto oldest =
      db.prepare("SELECT seq, received_at, session_seq, ts, category, app_id, id FROM events ORDER BY seq LIMIT ?");
  oldest.bind(1, static_cast<std::int64_t>(limit));
  int rc = SQLITE_ROW;
  while ((rc = oldest.step()) == SQLITE_ROW) {
    std::int64_t seq = oldest.integer(0);
    if (oldest.integer(1) >= before_ns || seq > indexed_through) {
      pass_over = true;
      break;
    }
    doomed.push_back({seq, oldest.integer(3), oldest.integer(2), oldest.text(4), oldest.text(5), oldest.text(6)});
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite::status_of(rc, db);
  oldest.reset();
  auto by_session = db.prepare("DELETE FROM event_idx_session WHERE session_seq = ? AND ts = ? AND seq = ?");
  auto by_time = db.prepare("DELETE FROM event_idx_time WHERE ts = ? AND seq = ?");
  auto by_category = db.prepare("DELETE FROM event_idx_category WHERE category = ? AND ts = ? AND seq = ?");
  auto by_app = db.prepare("DELETE FROM event_idx_app WHERE app_id = ? AND ts = ? AND seq = ?");
  auto client_id = db.prepare("DELETE FROM event_client_ids WHERE app_id = ? AND id = ?");
  auto event = db.prepare("DELETE FROM events WHERE seq = ?");
  for (const Doomed& e : doomed) {
    by_session.bind(1, e.session_seq).bind(2, e.ts).bind(3, e.seq);
    by_time.bind(1, e.ts).bind(2, e.seq);
    by_category.bind_ref(1, e.category).bind(2, e.ts).bind(3, e.seq);
    by_app.bind_ref(1, e.app_id).bind(2, e.ts).bind(3, e.seq);
    client_id.bind_ref(1, e.app_id).bind_ref(2, e.id);
    event.bind(1, e.seq);
    for (Statement* stmt : {&by_session, &by_time, &by_category, &by_app, &client_id, &event}) {
      if (Status s = done_or_error(*stmt, db); !s.is_ok()) return s;
    }
    ++slice.deleted;
    slice.after = e.seq;
  }
  slice.more = !pass_over && doomed.size() == limit;
  return Status::ok();
}

// Responses last changed before the cutoff (by responses_by_update), but
// not one that a job still open or still in the outbox will deliver.
Status delete_expired_responses(Connection& db, const std::string& before, std::size_t limit, ExpirySlice& slice) {
  auto oldest = db.prepare(
      "SELECT r.seq, r.id FROM responses r WHERE r.updated_at < ?1"
      " AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.source_id = r.id"
      "   AND j.status IN ('pending', 'failed', 'running', 'awaiting_callback'))"
      " AND NOT EXISTS (SELECT 1 FROM job_outbox o WHERE o.source_id = r.id)"
      " ORDER BY r.updated_at LIMIT ?2");
  oldest.bind(1, before).bind(2, static_cast<std::int64_t>(limit));
  std::vector<std::pair<std::int64_t, std::string>> doomed;
  int rc = SQLITE_ROW;
  while ((rc = oldest.step()) == SQLITE_ROW) doomed.emplace_back(oldest.integer(0), oldest.text(1));
  if (rc != SQLITE_DONE) return sqlite::status_of(rc, db);
  auto attempts = db.prepare("DELETE FROM job_attempts WHERE job_seq IN (SELECT seq FROM jobs WHERE source_id = ?)");
  auto jobs = db.prepare("DELETE FROM jobs WHERE source_id = ?");
  auto revisions = db.prepare("DELETE FROM response_revisions WHERE response_id = ?");
  auto response = db.prepare("DELETE FROM responses WHERE seq = ?");
  for (const auto& [seq, id] : doomed) {
    attempts.bind_ref(1, id);
    jobs.bind_ref(1, id);
    revisions.bind_ref(1, id);
    response.bind(1, seq);
    for (Statement* stmt : {&attempts, &jobs, &revisions, &response}) {
      if (Status s = done_or_error(*stmt, db); !s.is_ok()) return s;
    }
    ++slice.deleted;
  }
  slice.more = doomed.size() == limit;
  return Status::ok();
}

// Ended jobs, by seq from the cursor: a job made after the cutoff cannot
// have ended before it, so the pass ends at the first one.
Status delete_expired_jobs(Connection& db, const std::string& before, std::int64_t after, std::size_t limit,
                           ExpirySlice& slice) {
  auto next = db.prepare("SELECT seq, status, updated_at, created_at FROM jobs WHERE seq > ? ORDER BY seq LIMIT ?");
  next.bind(1, after).bind(2, static_cast<std::int64_t>(limit));
  std::vector<std::int64_t> doomed;
  std::size_t looked = 0;
  bool ended_pass = false;
  slice.after = after;
  int rc = SQLITE_ROW;
  while ((rc = next.step()) == SQLITE_ROW) {
    if (next.text(3) >= before) {
      ended_pass = true;
      break;
    }
    ++looked;
    slice.after = next.integer(0);
    std::string status = next.text(1);
    bool ended = status == "succeeded" || status == "dead" || status == "cancelled";
    if (ended && next.text(2) < before) doomed.push_back(next.integer(0));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite::status_of(rc, db);
  next.reset();
  auto attempts = db.prepare("DELETE FROM job_attempts WHERE job_seq = ?");
  auto job = db.prepare("DELETE FROM jobs WHERE seq = ?");
  for (std::int64_t seq : doomed) {
    attempts.bind(1, seq);
    job.bind(1, seq);
    for (Statement* stmt : {&attempts, &job}) {
      if (Status s = done_or_error(*stmt, db); !s.is_ok()) return s;
    }
    ++slice.deleted;
  }
  slice.more = !ended_pass && looked == limit;
  return Status::ok();
}

}  // namespace

asio::awaitable<Result<ExpirySlice>> SqliteStore::delete_expired(Expiring what, std::int64_t before_ms,
                                                                 std::int64_t after, std::size_t limit) {
  runner_writes_.fetch_add(1, std::memory_order_relaxed);  // not a request's write
  auto slice = std::make_shared<ExpirySlice>();
  std::string before = format_utc(Clock::time_point(std::chrono::milliseconds(before_ms)));
  sqlite::GroupWriter::Work work = [what, before_ms, before, after, limit, slice](Connection& db) {
    *slice = ExpirySlice{};  // the work may run twice
    switch (what) {
      case Expiring::events:
        return delete_expired_events(db, before_ms * 1'000'000, limit, *slice);
      case Expiring::responses:
        return delete_expired_responses(db, before, limit, *slice);
      case Expiring::jobs:
        return delete_expired_jobs(db, before, after, limit, *slice);
    }
    return Status::internal("unknown kind of record to expire");
  };
  Status status = co_await write(std::move(work));
  if (!status.is_ok()) co_return status;
  co_return *slice;
}

}  // namespace daisy
