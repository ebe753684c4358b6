// PostgresStore: deleting what has outlived its retention (store/retention_store.h).
// Each delete checks the time again: on PostgreSQL a response may be
// corrected, or a job retried, by another connection between the slice's
// read and its delete.
#include <algorithm>
#include <string>

#include "store/postgres/pg_store.h"
#include "util/time.h"

namespace daisy {
namespace asio = boost::asio;
using pg::Connection;
using pg::Rows;

namespace {

// Among the oldest events by arrival (seq), those received before the
// cutoff, with their client ids.
Status delete_expired_events(Connection& db, std::int64_t before_ns, std::size_t limit, ExpirySlice& slice) {
  Rows gone = db.query(
      "WITH doomed AS (SELECT seq, app_id, id FROM events"
      "   WHERE seq IN (SELECT seq FROM events ORDER BY seq LIMIT $2) AND received_at < $1),"
      " ids AS (DELETE FROM event_client_ids c USING doomed d WHERE c.app_id = d.app_id AND c.id = d.id)"
      " DELETE FROM events e USING doomed d WHERE e.seq = d.seq RETURNING e.seq",
      before_ns, limit);
  if (!gone.ok()) return gone.status();
  slice.deleted = gone.size();
  for (int i = 0; i < gone.size(); ++i) slice.after = std::max(slice.after, gone.integer(i, 0));
  slice.more = static_cast<std::size_t>(gone.size()) == limit;
  return Status::ok();
}

// Responses last changed before the cutoff whose jobs have all ended, with
// their revisions and their jobs' attempts. Rows another connection holds
// (a correction under way) are skipped; the next pass takes them.
Status delete_expired_responses(Connection& db, const std::string& before, std::size_t limit, ExpirySlice& slice) {
  Rows doomed = db.query(
      "SELECT r.seq FROM responses r WHERE r.updated_at < $1"
      " AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.source_id = r.id"
      "   AND j.status IN ('pending', 'failed', 'running', 'awaiting_callback'))"
      " ORDER BY r.updated_at LIMIT $2 FOR UPDATE OF r SKIP LOCKED",
      before, limit);
  if (!doomed.ok()) return doomed.status();
  pg::ArrayLiteral seqs;
  for (int i = 0; i < doomed.size(); ++i) seqs.add(doomed.integer(i, 0));
  Rows gone = db.query(
      "WITH gone AS (DELETE FROM responses WHERE seq = ANY($1::bigint[]) AND updated_at < $2 RETURNING id),"
      " revisions AS (DELETE FROM response_revisions WHERE response_id IN (SELECT id FROM gone)),"
      " jobs_gone AS (DELETE FROM jobs WHERE source_id IN (SELECT id FROM gone) RETURNING seq),"
      " attempts AS (DELETE FROM job_attempts WHERE job_seq IN (SELECT seq FROM jobs_gone))"
      " SELECT count(*) FROM gone",
      seqs.take(), before);
  if (!gone.ok()) return gone.status();
  slice.deleted = gone.empty() ? 0 : gone.integer(0, 0);
  slice.more = static_cast<std::size_t>(doomed.size()) == limit;
  return Status::ok();
}

// Ended jobs, by seq from the cursor, up to the first job made after the
// cutoff (it cannot have ended before it).
Status delete_expired_jobs(Connection& db, const std::string& before, std::int64_t after, std::size_t limit,
                           ExpirySlice& slice) {
  Rows next =
      db.query("SELECT seq, created_at < $2 FROM jobs WHERE seq > $1 ORDER BY seq LIMIT $3", after, before, limit);
  if (!next.ok()) return next.status();
  slice.after = after;
  int looked = 0;
  while (looked < next.size() && next.boolean(looked, 1)) slice.after = next.integer(looked++, 0);
  if (looked > 0) {
    Rows gone = db.query(
        "WITH gone AS (DELETE FROM jobs WHERE seq > $1 AND seq <= $2"
        "   AND status IN ('succeeded', 'dead', 'cancelled') AND updated_at < $3 RETURNING seq),"
        " attempts AS (DELETE FROM job_attempts WHERE job_seq IN (SELECT seq FROM gone))"
        " SELECT count(*) FROM gone",
        after, slice.after, before);
    if (!gone.ok()) return gone.status();
    slice.deleted = gone.empty() ? 0 : gone.integer(0, 0);
  }
  slice.more = looked == next.size() && static_cast<std::size_t>(looked) == limit;
  return Status::ok();
}

}  // namespace

asio::awaitable<Result<ExpirySlice>> PostgresStore::delete_expired(Expiring what, std::int64_t before_ms,
                                                                   std::int64_t after, std::size_t limit) {
  std::string before = format_utc(Clock::time_point(std::chrono::milliseconds(before_ms)));
  std::function<Status(Connection&, ExpirySlice&)> work = [what, before_ms, before, after, limit](Connection& db,
                                                                                                  ExpirySlice& slice) {
    switch (what) {
      case Expiring::events:
        return delete_expired_events(db, before_ms * 1'000'000, limit, slice);
      case Expiring::responses:
        return delete_expired_responses(db, before, limit, slice);
      case Expiring::jobs:
        return delete_expired_jobs(db, before, after, limit, slice);
    }
    return Status::internal("unknown kind of record to expire");
  };
  co_return co_await write_returning(std::move(work), true);
}

}  // namespace daisy
