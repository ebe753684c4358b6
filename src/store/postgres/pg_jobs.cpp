// PostgresStore: integrations, and the jobs that carry out what they trigger.
// Jobs are written to `jobs` with the record that triggered them (no outbox:
// SQLite's outbox spares its single writer, PostgreSQL has several) and are
// claimed with FOR UPDATE SKIP LOCKED, so nodes sharing the database take
// disjoint jobs; a claimed job carries a lease (due_ms) after which any node
// takes it up again.
#include <algorithm>
#include <span>

#include <fmt/format.h>

#include "store/postgres/pg_locks.h"
#include "store/postgres/pg_store.h"
#include "util/time.h"

namespace daisy {
namespace asio = boost::asio;
using pg::Connection;
using pg::Rows;

namespace {

constexpr const char* integration_columns =
    "id, source_id, definition, secret, previous_secret, previous_until, disabled_reason, created_at, updated_at";

// What reads take: the written columns, then the state deliveries keep.
const std::string integration_read_columns = std::string(integration_columns) + ", last_error";

IntegrationRow integration_of(const Rows& r, int i) {
  return {r.text(i, 0), r.text(i, 1), r.text(i, 2), r.text(i, 3), r.text(i, 4),
          r.text(i, 5), r.text(i, 6), r.text(i, 7), r.text(i, 8), r.text(i, 9)};
}

#define JOB_COLUMNS                                                                                                  \
  "seq, id, integration_id, source_id, type, payload, status, attempts, due_ms, last_error, created_at, updated_at," \
  " output, callback_token_hash, revision"

JobRow job_of(const Rows& r, int i) {
  JobRow j;
  j.seq = r.integer(i, 0);
  j.id = r.text(i, 1);
  j.integration_id = r.text(i, 2);
  j.source_id = r.text(i, 3);
  j.type = r.text(i, 4);
  j.payload = r.text(i, 5);
  j.status = r.text(i, 6);
  j.attempts = static_cast<int>(r.integer(i, 7));
  j.due_ms = r.integer(i, 8);
  j.last_error = r.text(i, 9);
  j.created_at = r.text(i, 10);
  j.updated_at = r.text(i, 11);
  j.output = r.text(i, 12);
  j.callback_token_hash = r.text(i, 13);
  j.revision = static_cast<int>(r.integer(i, 14));
  return j;
}

Result<JobRow> find_job(Connection& db, std::string_view id, bool for_update = false) {
  Rows r = for_update ? db.query("SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1 FOR UPDATE", id)
                      : db.query("SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1", id);
  return pg::first_row(r, job_of, "job");
}

// Moves a job from one of `from` to `to` (due at due_ms); conflict when it is
// in another state. The job as it is afterwards goes to *out.
Status transition(Connection& db, const std::string& id, std::span<const std::string_view> from, std::string_view to,
                  std::int64_t due_ms, JobRow& out) {
  auto job = find_job(db, id, true);
  if (!job.is_ok()) return job.status();
  if (Status s = check_job_transition(job.value(), from); !s.is_ok()) return s;
  std::string now = now_utc();
  Rows r = db.query("UPDATE jobs SET status = $1, due_ms = $2, updated_at = $3 WHERE id = $4", to, due_ms, now, id);
  if (!r.ok()) return r.status();
  out = job_after_transition(std::move(job.value()), to, due_ms, std::move(now));
  return Status::ok();
}

// What a claim gives the jobs it takes.
struct ClaimTerms {
  std::int64_t now_ms, lease_ms;
  const std::string& node;
};

// Claims up to `limit` due jobs that meet `condition` (on $6, `value`): they
// run now, leased to this node. Rows another node is claiming are skipped,
// not waited for. A callback that never came ends the attempt it belonged
// to: the next attempt is counted when it starts, so such a job's attempts
// stay as they were.
Status claim_due(Connection& db, std::string_view condition, pg::Param value, const ClaimTerms& terms,
                 std::size_t limit, std::vector<JobRow>& claimed) {
  std::string sql = fmt::format(
      "WITH due AS (SELECT seq, status AS was FROM jobs"
      "  WHERE status IN ('pending', 'failed', 'running', 'awaiting_callback') AND due_ms <= $1 AND {}"
      "  ORDER BY due_ms LIMIT $2 FOR UPDATE SKIP LOCKED)"
      " UPDATE jobs SET status = 'running',"
      "  attempts = CASE WHEN due.was = 'awaiting_callback' THEN attempts ELSE attempts + 1 END,"
      "  due_ms = $3, callback_token_hash = '', updated_at = $4, leased_by = $5"
      " FROM due WHERE jobs.seq = due.seq"
      " RETURNING jobs.seq, id, integration_id, source_id, type, payload, status, attempts, due_ms, last_error,"
      "  created_at, updated_at, output, callback_token_hash, revision, due.was = 'awaiting_callback'",
      condition);
  pg::Params params{terms.now_ms, static_cast<std::int64_t>(limit), terms.now_ms + terms.lease_ms, now_utc(),
                    terms.node};
  params.push_back(std::move(value));
  Rows r = db.run(sql, params);
  if (!r.ok()) return r.status();
  for (int i = 0; i < r.size(); ++i) {
    JobRow& j = claimed.emplace_back(job_of(r, i));
    j.callback_expired = r.boolean(i, 15);
  }
  return Status::ok();
}

// Claims due jobs of one paced integration, up to `limit` and within its
// limits: no more running (on every node) than max_in_flight (1 while its
// receiver is on trial), turns 1/max_per_second apart handed out up to a
// second ahead, none while it is paused (ReceiverBackOff). Its pace row
// stays locked until the claim commits: a node claiming it meanwhile skips
// it, so two nodes never hand out the same room or turns.
Status claim_paced(Connection& db, const std::string& integration_id, const ClaimTerms& terms, std::size_t limit,
                   std::vector<JobRow>& claimed) {
  Rows pace = db.query(
      "SELECT max_per_second, max_in_flight, next_turn_us, paused_until_ms, failures FROM integration_pace"
      " WHERE integration_id = $1 FOR UPDATE SKIP LOCKED",
      integration_id);
  if (!pace.ok()) return pace.status();
  if (pace.size() == 0 || pace.integer(0, 3) > terms.now_ms) return Status::ok();
  std::int64_t per_second = pace.integer(0, 0), max_in_flight = pace.integer(0, 1);
  if (pace.integer(0, 4) >= receiver_failures_before_trial) max_in_flight = 1;  // on trial
  auto take = static_cast<std::int64_t>(limit);
  if (max_in_flight > 0) {
    // The open statuses spelled out, so that jobs_due_by_integration serves the count.
    Rows running = db.query(
        "SELECT count(*) FROM jobs WHERE integration_id = $1 AND status = 'running' AND due_ms > $2"
        " AND status IN ('pending', 'failed', 'running', 'awaiting_callback')",
        integration_id, terms.now_ms);
    if (!running.ok()) return running.status();
    take = std::min(take, max_in_flight - running.integer(0, 0));
  }
  const std::int64_t now_us = terms.now_ms * 1000;
  const std::int64_t first_turn_us = std::max(pace.integer(0, 2), now_us);
  const std::int64_t turn_us = per_second > 0 ? 1'000'000 / per_second : 0;
  if (per_second > 0) {
    constexpr std::int64_t turns_ahead_us = 1'000'000;
    std::int64_t open_us = now_us + turns_ahead_us - first_turn_us;
    take = std::min(take, open_us <= 0 ? 0 : (open_us + turn_us - 1) / turn_us);
  }
  if (take <= 0) return Status::ok();
  std::size_t before = claimed.size();
  if (Status s = claim_due(db, "integration_id = $6", integration_id, terms, static_cast<std::size_t>(take), claimed);
      !s.is_ok()) {
    return s;
  }
  if (per_second == 0 || claimed.size() == before) return Status::ok();
  std::int64_t turn = first_turn_us;
  for (std::size_t i = before; i < claimed.size(); ++i, turn += turn_us) claimed[i].not_before_ms = (turn + 999) / 1000;
  return db.query("UPDATE integration_pace SET next_turn_us = $1 WHERE integration_id = $2", turn, integration_id)
      .status();
}

// Keeps the integration's limits in its pace row, read from its definition
// (any kind whose config has max_per_second or max_in_flight). A change to
// the integration also ends its back-off: its receiver gets a fresh start.
Status keep_pace_limits(Connection& db, const std::string& integration_id, const std::string& definition) {
  return db
      .query(
          "INSERT INTO integration_pace (integration_id, max_per_second, max_in_flight)"
          " SELECT $1, coalesce((d #>> '{config,max_per_second}')::int, 0),"
          "  coalesce((d #>> '{config,max_in_flight}')::int, 0) FROM (SELECT $2::jsonb AS d) AS definition"
          " ON CONFLICT (integration_id) DO UPDATE SET max_per_second = excluded.max_per_second,"
          "  max_in_flight = excluded.max_in_flight, paused_until_ms = 0, failures = 0, pauses = 0",
          integration_id, definition)
      .status();
}

// Counts an attempt's receiver state towards its integration's back-off.
Status count_receiver_state(Connection& db, const std::string& integration_id, const AttemptOutcome& o) {
  if (o.receiver == AttemptOutcome::Receiver::answering) {
    return db
        .query(
            "UPDATE integration_pace SET failures = 0, pauses = 0"
            " WHERE integration_id = $1 AND (failures > 0 OR pauses > 0)",
            integration_id)
        .status();
  }
  if (o.receiver != AttemptOutcome::Receiver::failing) return Status::ok();
  // The row, inserted when missing and locked until commit (the update
  // changes nothing), so that concurrent failures count one after another.
  Rows row = db.query(
      "INSERT INTO integration_pace (integration_id) VALUES ($1) ON CONFLICT (integration_id)"
      " DO UPDATE SET failures = integration_pace.failures RETURNING failures, pauses, paused_until_ms",
      integration_id);
  if (!row.ok()) return row.status();
  ReceiverBackOff b{static_cast<int>(row.integer(0, 0)), static_cast<int>(row.integer(0, 1)), row.integer(0, 2)};
  b = after_receiver_failure(b, o.retry_after_ms, now_ms());
  return db
      .query("UPDATE integration_pace SET failures = $1, pauses = $2, paused_until_ms = $3 WHERE integration_id = $4",
             std::int64_t{b.failures}, std::int64_t{b.pauses}, b.paused_until_ms, integration_id)
      .status();
}

}  // namespace

Status insert_job_rows(Connection& db, const std::vector<JobRow>& jobs) {
  return insert_job_rows(db, std::vector<const std::vector<JobRow>*>{&jobs});
}

Status insert_job_rows(Connection& db, const std::vector<const std::vector<JobRow>*>& lists) {
  std::size_t count = 0;
  for (const auto* jobs : lists) count += jobs->size();
  if (count == 0) return Status::ok();
  pg::ArrayLiteral id, integration, source, type, payload, status, attempts, due, created, updated, revision;
  for (const auto* jobs : lists) {
    for (const JobRow& j : *jobs) {
      id.add(j.id);
      integration.add(j.integration_id);
      source.add(j.source_id);
      type.add(j.type);
      payload.add(j.payload);
      status.add(j.status);
      attempts.add(std::int64_t{j.attempts});
      due.add(j.due_ms);
      created.add(j.created_at);
      updated.add(j.updated_at.empty() ? j.created_at : j.updated_at);
      revision.add(std::int64_t{j.revision});
    }
  }
  // The advisory lock, held until commit, makes jobs commit in seq order
  // across writers and nodes (GET /v1/jobs pages by seq); taken in the
  // statement, before the rows get their seqs, so it costs no round trip.
  return db
      .query(
          "INSERT INTO jobs (id, integration_id, source_id, type, payload, status, attempts, due_ms, created_at,"
          " updated_at, revision)"
          " SELECT j.* FROM (SELECT pg_advisory_xact_lock($12)) AS in_seq_order,"
          " unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
          " $7::int[], $8::bigint[], $9::text[], $10::text[], $11::int[]) AS j",
          id.take(), integration.take(), source.take(), type.take(), payload.take(), status.take(), attempts.take(),
          due.take(), created.take(), updated.take(), revision.take(), pg::locks::seq_order)
      .status();
}

asio::awaitable<Status> PostgresStore::create_integration(IntegrationRow row) {
  pg::Writer::Work work = [row = std::move(row)](Connection& db) {
    static const std::string sql = std::string("INSERT INTO integrations (") + integration_columns +
                                   ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    Rows r = db.query(sql, row.id, row.source_id, row.definition, row.secret, row.previous_secret, row.previous_until,
                      row.disabled_reason, row.created_at, row.updated_at);
    if (!r.ok()) return r.status();
    return keep_pace_limits(db, row.id, row.definition);
  };
  co_return co_await write(std::move(work));
}

Result<std::vector<IntegrationRow>> PostgresStore::list_integrations(const Page& page) {
  return read([&](Connection& db) {
    static const std::string sql =
        "SELECT " + integration_read_columns + " FROM integrations WHERE id > $1 ORDER BY id LIMIT $2";
    return pg::all_rows(db.query(sql, page.after, page.limit), integration_of);
  });
}

Result<IntegrationRow> PostgresStore::get_integration(std::string_view id) {
  return read([&](Connection& db) {
    static const std::string sql = "SELECT " + integration_read_columns + " FROM integrations WHERE id = $1";
    return pg::first_row(db.query(sql, id), integration_of, "integration");
  });
}

asio::awaitable<Status> PostgresStore::update_integration(IntegrationRow row) {
  pg::Writer::Work work = [row = std::move(row)](Connection& db) {
    Rows r = db.query(
        "UPDATE integrations SET source_id = $1, definition = $2, secret = $3, previous_secret = $4,"
        " previous_until = $5, disabled_reason = $6, updated_at = $7 WHERE id = $8",
        row.source_id, row.definition, row.secret, row.previous_secret, row.previous_until, row.disabled_reason,
        row.updated_at, row.id);
    if (!r.ok()) return r.status();
    if (r.affected() == 0) return Status::not_found("integration");
    return keep_pace_limits(db, row.id, row.definition);
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Status> PostgresStore::delete_integration(std::string id) {
  pg::Writer::Work work = [id = std::move(id)](Connection& db) {
    Rows del = db.query("DELETE FROM integrations WHERE id = $1", id);
    if (!del.ok()) return del.status();
    if (del.affected() == 0) return Status::not_found("integration");
    Rows cancel = db.query(
        "UPDATE jobs SET status = 'cancelled', updated_at = $1, last_error = 'the integration was deleted'"
        " WHERE integration_id = $2 AND status IN ('pending', 'failed', 'running', 'awaiting_callback')",
        now_utc(), id);
    if (!cancel.ok()) return cancel.status();
    // After the jobs, as finish_attempt locks them (a job, then its pace row): no deadlock.
    return db.query("DELETE FROM integration_pace WHERE integration_id = $1", id).status();
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Status> PostgresStore::insert_jobs(std::vector<JobRow> jobs) {
  pg::Writer::Work work = [jobs = std::move(jobs)](Connection& db) { return insert_job_rows(db, jobs); };
  co_return co_await write(std::move(work));
}

asio::awaitable<Result<std::vector<JobRow>>> PostgresStore::claim_jobs(std::int64_t now_ms, std::int64_t lease_ms,
                                                                       std::size_t limit) {
  std::function<Status(Connection&, std::vector<JobRow>&)> work = [now_ms, lease_ms, limit, node = options_.node_id](
                                                                      Connection& db, std::vector<JobRow>& claimed) {
    ClaimTerms terms{now_ms, lease_ms, node};
    // Paced integrations first, each under its limits; then every other
    // due job. The list is read without a lock: a pause that begins
    // during this claim holds from the next one.
    Rows paced = db.query(
        "SELECT integration_id FROM integration_pace"
        " WHERE max_per_second > 0 OR max_in_flight > 0 OR paused_until_ms > $1 OR failures >= $2",
        now_ms, std::int64_t{receiver_failures_before_trial});
    if (!paced.ok()) return paced.status();
    pg::ArrayLiteral others_only;
    for (int i = 0; i < paced.size(); ++i) {
      others_only.add(paced.text(i, 0));
      if (claimed.size() >= limit) continue;
      if (Status s = claim_paced(db, paced.text(i, 0), terms, limit - claimed.size(), claimed); !s.is_ok()) {
        return s;
      }
    }
    if (claimed.size() >= limit) return Status::ok();
    return claim_due(db, "integration_id <> ALL($6::text[])", others_only.take(), terms, limit - claimed.size(),
                     claimed);
  };
  co_return co_await write_returning(std::move(work), true);
}

// Only this node's own: other nodes may be running theirs. The jobs of a node
// that does not come back are taken up by the others when their leases expire.
asio::awaitable<Status> PostgresStore::requeue_running_jobs(std::int64_t now_ms) {
  pg::Writer::Work work = [now_ms, node = options_.node_id](Connection& db) {
    return db
        .query("UPDATE jobs SET due_ms = $1 WHERE status = 'running' AND leased_by = $2 AND due_ms > $1", now_ms, node)
        .status();
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Status> PostgresStore::extend_leases(std::vector<HeldJob> held, std::int64_t until_ms) {
  pg::ArrayLiteral seqs, attempts;
  for (const HeldJob& job : held) {
    seqs.add(job.seq);
    attempts.add(std::int64_t{job.attempts});
  }
  pg::Writer::Work work = [seqs = seqs.take(), attempts = attempts.take(), until_ms,
                           node = options_.node_id](Connection& db) {
    return db
        .query(
            "UPDATE jobs SET due_ms = $1 FROM unnest($2::bigint[], $3::bigint[]) AS held(seq, attempts)"
            " WHERE jobs.seq = held.seq AND jobs.attempts = held.attempts AND jobs.status = 'running'"
            " AND jobs.leased_by = $4",
            until_ms, seqs, attempts, node)
        .status();
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Result<bool>> PostgresStore::finish_attempt(AttemptOutcome o) {
  std::function<Status(Connection&, bool&)> work = [o = std::move(o)](Connection& db, bool& recorded) {
    // Locked, so a cancel or another node's claim waits for this outcome or
    // has already moved the job on (and the outcome is then ignored).
    auto job = find_job(db, o.job_id, true);
    if (!job.is_ok()) return job.status().code() == Status::Code::not_found ? Status::ok() : job.status();
    const JobRow& j = job.value();
    if (!outcome_applies(j, o)) return Status::ok();
    Rows attempt = db.query(
        "INSERT INTO job_attempts (job_seq, number, started_at, duration_ms, outcome, http_status, error, log)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (job_seq, number) DO UPDATE SET"
        " started_at = excluded.started_at, duration_ms = excluded.duration_ms, outcome = excluded.outcome,"
        " http_status = excluded.http_status, error = excluded.error, log = excluded.log",
        j.seq, o.attempt_number, o.attempt.started_at, o.attempt.duration_ms, o.attempt.outcome, o.attempt.http_status,
        o.attempt.error, o.attempt.log);
    if (!attempt.ok()) return attempt.status();
    Rows update = db.query(
        "UPDATE jobs SET status = $1, due_ms = $2, last_error = $3, output = $4, callback_token_hash = $5,"
        " updated_at = $6 WHERE seq = $7",
        o.status, o.due_ms, o.attempt.error, o.output, o.callback_token_hash, now_utc(), j.seq);
    if (!update.ok()) return update.status();
    if (!o.disable_integration.empty()) {
      Rows disable = db.query(
          "UPDATE integrations SET definition = jsonb_set(definition::jsonb, '{enabled}', 'false')::text,"
          " disabled_reason = $1, updated_at = $2 WHERE id = $3",
          o.disable_integration, now_utc(), j.integration_id);
      if (!disable.ok()) return disable.status();
    }
    if (o.integration_error) {
      Rows error = db.query("UPDATE integrations SET last_error = $1 WHERE id = $2 AND last_error <> $1",
                            *o.integration_error, j.integration_id);
      if (!error.ok()) return error.status();
    }
    if (Status s = count_receiver_state(db, j.integration_id, o); !s.is_ok()) return s;
    recorded = true;
    return Status::ok();
  };
  co_return co_await write_returning(std::move(work), true);
}

// Jobs are filed by the commit that makes them.
asio::awaitable<Result<std::size_t>> PostgresStore::file_pending_jobs(std::size_t) { co_return std::size_t{0}; }

Result<std::vector<JobRow>> PostgresStore::jobs_of_source(std::string_view source_id) {
  return read([&](Connection& db) {
    return pg::all_rows(db.query("SELECT " JOB_COLUMNS " FROM jobs WHERE source_id = $1 ORDER BY seq", source_id),
                        job_of);
  });
}

Result<std::vector<JobRow>> PostgresStore::list_jobs(const JobFilter& f) {
  pg::Params params{f.after_seq};
  std::string sql = "SELECT " JOB_COLUMNS " FROM jobs WHERE seq > $1";
  for (const auto& [column, value] : job_filter_conditions(f)) {
    params.emplace_back(*value);
    sql += fmt::format(" AND {} = ${}", column, params.size());
  }
  params.emplace_back(static_cast<std::int64_t>(f.limit));
  sql += fmt::format(" ORDER BY seq LIMIT ${}", params.size());
  return read([&](Connection& db) { return pg::all_rows(db.run(sql, params), job_of); });
}

Result<std::optional<ReceiverBackOff>> PostgresStore::receiver_back_off(std::string_view integration_id) {
  return read([&](Connection& db) -> Result<std::optional<ReceiverBackOff>> {
    Rows r = db.query("SELECT failures, pauses, paused_until_ms FROM integration_pace WHERE integration_id = $1",
                      integration_id);
    if (!r.ok()) return r.status();
    if (r.size() == 0) return std::optional<ReceiverBackOff>{};
    return std::optional<ReceiverBackOff>{
        ReceiverBackOff{static_cast<int>(r.integer(0, 0)), static_cast<int>(r.integer(0, 1)), r.integer(0, 2)}};
  });
}

asio::awaitable<Result<std::optional<std::int64_t>>> PostgresStore::take_request_turn(std::string integration_id,
                                                                                      std::int64_t interval_us,
                                                                                      std::int64_t now_us) {
  std::function<Status(Connection&, std::optional<std::int64_t>&)> work =
      [id = std::move(integration_id), interval_us, now_us](Connection& db, std::optional<std::int64_t>& turn) {
        // One statement: the row is locked while the turn is taken, so nodes take turns one after another.
        Rows r = db.query(
            "INSERT INTO integration_pace (integration_id, next_turn_us) VALUES ($1, $2::bigint + $3::bigint)"
            " ON CONFLICT (integration_id) DO UPDATE"
            " SET next_turn_us = greatest(integration_pace.next_turn_us, $2::bigint) + $3::bigint"
            " RETURNING next_turn_us - $3::bigint",
            id, now_us, interval_us);
        if (!r.ok()) return r.status();
        turn = r.integer(0, 0);
        return Status::ok();
      };
  co_return co_await write_returning(std::move(work), true);
}

Result<JobRow> PostgresStore::get_job(std::string_view id) {
  return read([&](Connection& db) { return find_job(db, id); });
}

Result<std::vector<JobAttemptRow>> PostgresStore::list_attempts(std::int64_t job_seq) {
  return read([&](Connection& db) {
    Rows r = db.query(
        "SELECT number, started_at, duration_ms, outcome, http_status, error, log FROM job_attempts WHERE job_seq = $1"
        " ORDER BY number",
        job_seq);
    return pg::all_rows(r, [](const Rows& rows, int i) {
      return JobAttemptRow{static_cast<int>(rows.integer(i, 0)), rows.text(i, 1), rows.integer(i, 2), rows.text(i, 3),
                           static_cast<int>(rows.integer(i, 4)), rows.text(i, 5), rows.text(i, 6)};
    });
  });
}

Result<std::vector<std::pair<std::string, std::int64_t>>> PostgresStore::count_open_jobs() {
  return read([&](Connection& db) -> Result<std::vector<std::pair<std::string, std::int64_t>>> {
    Rows r = db.exec(
        "SELECT s.status, (SELECT count(*) FROM jobs WHERE jobs.status = s.status)"
        " FROM unnest(ARRAY['pending', 'running', 'awaiting_callback', 'failed']) WITH ORDINALITY AS s (status, n)"
        " ORDER BY s.n");
    return pg::all_rows(r, [](const Rows& rows, int i) { return std::make_pair(rows.text(i, 0), rows.integer(i, 1)); });
  });
}

asio::awaitable<Result<JobRow>> PostgresStore::retry_job(std::string id, std::int64_t now_ms) {
  std::function<Status(Connection&, JobRow&)> work = [id = std::move(id), now_ms](Connection& db, JobRow& job) {
    return transition(db, id, job_states_retryable, "pending", now_ms, job);
  };
  co_return co_await write_returning(std::move(work));
}

asio::awaitable<Result<JobRow>> PostgresStore::cancel_job(std::string id) {
  std::function<Status(Connection&, JobRow&)> work = [id = std::move(id)](Connection& db, JobRow& job) {
    return transition(db, id, job_states_cancellable, "cancelled", 0, job);
  };
  co_return co_await write_returning(std::move(work));
}

}  // namespace daisy
