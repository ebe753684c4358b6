// SqliteStore: integrations, and the jobs that carry out what they trigger.
#include <charconv>
#include <limits>
#include <span>

#include "store/sqlite/sqlite_jobs.h"
#include "store/sqlite/sqlite_status.h"
#include "store/sqlite/sqlite_store.h"
#include "util/time.h"

namespace daisy {
namespace asio = boost::asio;
using sqlite::Connection;
using sqlite::Statement;

namespace {

constexpr const char* integration_columns =
    "id, source_id, definition, secret, previous_secret, previous_until, disabled_reason, created_at, updated_at";

// What reads take: the written columns, then the state deliveries keep.
const std::string integration_read_columns = std::string(integration_columns) + ", last_error";

IntegrationRow read_integration(Statement& stmt) {
  return {stmt.text(0), stmt.text(1), stmt.text(2), stmt.text(3), stmt.text(4),
          stmt.text(5), stmt.text(6), stmt.text(7), stmt.text(8), stmt.text(9)};
}

constexpr const char* job_columns =
    "seq, id, integration_id, source_id, type, payload, status, attempts, due_ms, last_error, created_at, updated_at,"
    " output, callback_token_hash, revision";

JobRow read_job(Statement& stmt) {
  JobRow j;
  j.seq = stmt.integer(0);
  j.id = stmt.text(1);
  j.integration_id = stmt.text(2);
  j.source_id = stmt.text(3);
  j.type = stmt.text(4);
  j.payload = stmt.text(5);
  j.status = stmt.text(6);
  j.attempts = static_cast<int>(stmt.integer(7));
  j.due_ms = stmt.integer(8);
  j.last_error = stmt.text(9);
  j.created_at = stmt.text(10);
  j.updated_at = stmt.text(11);
  j.output = stmt.text(12);
  j.callback_token_hash = stmt.text(13);
  j.revision = static_cast<int>(stmt.integer(14));
  return j;
}

Result<JobRow> find_job(Connection& db, std::string_view id) {
  static const std::string sql = std::string("SELECT ") + job_columns + " FROM jobs WHERE id = ?";
  auto stmt = db.prepare(sql.c_str());
  stmt.bind(1, id);
  int rc = stmt.step();
  if (rc == SQLITE_ROW) return read_job(stmt);
  if (rc == SQLITE_DONE) return Status::not_found("job");
  return sqlite::status_of(rc, db);
}

// Moves a job from one of `from` to `to` (due at due_ms); conflict when it is
// in another state. The job as it is afterwards goes to *out.
Status transition(Connection& db, const std::string& id, std::span<const std::string_view> from, std::string_view to,
                  std::int64_t due_ms, JobRow& out) {
  auto job = find_job(db, id);
  if (!job.is_ok()) return job.status();
  if (Status s = check_job_transition(job.value(), from); !s.is_ok()) return s;
  auto stmt = db.prepare("UPDATE jobs SET status = ?, due_ms = ?, updated_at = ? WHERE id = ?");
  std::string now = now_utc();
  stmt.bind(1, to).bind(2, due_ms).bind(3, now).bind(4, id);
  if (Status s = sqlite::status_of(stmt.step(), db); !s.is_ok()) return s;
  out = job_after_transition(std::move(job.value()), to, due_ms, std::move(now));
  return Status::ok();
}

}  // namespace

namespace sqlite {

Status insert_job_rows(Connection& db, const std::vector<JobRow>& jobs, std::vector<std::int64_t>* seqs) {
  if (jobs.empty()) return Status::ok();
  auto stmt = db.prepare(
      "INSERT INTO jobs (id, integration_id, source_id, type, payload, status, attempts, due_ms, created_at,"
      " updated_at, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  for (const JobRow& j : jobs) {
    stmt.bind_ref(1, j.id)
        .bind_ref(2, j.integration_id)
        .bind_ref(3, j.source_id)
        .bind_ref(4, j.type)
        .bind_ref(5, j.payload)
        .bind_ref(6, j.status)
        .bind(7, std::int64_t{j.attempts})
        .bind(8, j.due_ms)
        .bind_ref(9, j.created_at)
        .bind_ref(10, j.updated_at.empty() ? j.created_at : j.updated_at)
        .bind(11, std::int64_t{j.revision});
    int rc = stmt.step();
    if (rc != SQLITE_DONE) return status_of(rc, db);
    if (seqs != nullptr) seqs->push_back(sqlite3_last_insert_rowid(db.handle()));
    stmt.reset();
  }
  return Status::ok();
}

Status insert_outbox_rows(Connection& db, const std::vector<JobRow>& jobs) {
  if (jobs.empty()) return Status::ok();
  auto stmt = db.prepare(
      "INSERT INTO job_outbox (job_count, type, source_id, jobs, created_at, revision, payload)"
      " VALUES (?, ?, ?, ?, ?, ?, ?)");
  std::string listed;
  for (std::size_t first = 0; first < jobs.size();) {
    const JobRow& head = jobs[first];
    std::size_t end = first;
    listed.clear();
    while (end < jobs.size() && jobs[end].source_id == head.source_id && jobs[end].type == head.type) {
      listed.append(jobs[end].id).append(" ").append(jobs[end].integration_id).append(" ");
      listed.append(std::to_string(jobs[end].due_ms)).append("\n");
      ++end;
    }
    stmt.bind(1, static_cast<std::int64_t>(end - first))
        .bind_ref(2, head.type)
        .bind_ref(3, head.source_id)
        .bind_ref(4, listed)
        .bind_ref(5, head.created_at)
        .bind(6, std::int64_t{head.revision})
        .bind_ref(7, head.payload);
    int rc = stmt.step();
    if (rc != SQLITE_DONE) return status_of(rc, db);
    stmt.reset();
    first = end;
  }
  return Status::ok();
}

namespace {

constexpr const char* outbox_columns = "seq, type, source_id, jobs, created_at, revision, payload";

// The pending jobs of one outbox row (read with outbox_columns), appended to *out.
Status read_outbox_jobs(Statement& row, const std::string& now, std::vector<JobRow>& out) {
  std::string listed = row.text(3);
  for (std::size_t at = 0; at < listed.size();) {
    std::size_t first_space = listed.find(' ', at);
    std::size_t second_space = first_space == std::string::npos ? first_space : listed.find(' ', first_space + 1);
    std::size_t end = listed.find('\n', at);
    std::int64_t due_ms = 0;
    bool well_formed = second_space != std::string::npos && end != std::string::npos && second_space < end &&
                       std::from_chars(listed.data() + second_space + 1, listed.data() + end, due_ms).ec == std::errc{};
    if (!well_formed) return Status::internal("job_outbox row " + std::to_string(row.integer(0)) + " is malformed");
    JobRow& j = out.emplace_back();
    j.id = listed.substr(at, first_space - at);
    j.integration_id = listed.substr(first_space + 1, second_space - first_space - 1);
    j.due_ms = due_ms;
    j.type = row.text(1);
    j.source_id = row.text(2);
    j.created_at = row.text(4);
    j.revision = static_cast<int>(row.integer(5));
    j.payload = row.text(6);
    j.updated_at = now;
    at = end + 1;
  }
  return Status::ok();
}

}  // namespace

Result<std::size_t> file_outbox_rows(Connection& db, std::size_t max_rows, std::int64_t through_seq,
                                     OutboxClaim claim) {
  static const std::string sql =
      std::string("SELECT ") + outbox_columns + " FROM job_outbox WHERE seq <= ? ORDER BY seq LIMIT ?";
  auto rows = db.prepare(sql.c_str());
  rows.bind(1, through_seq).bind(2, static_cast<std::int64_t>(max_rows));
  std::vector<JobRow> filed;
  std::vector<std::size_t> taken_now;  // indexes in filed of the jobs claimed as they are filed
  std::size_t taken = 0;
  std::int64_t last_seq = 0;
  std::string now = now_utc();
  int rc;
  while ((rc = rows.step()) == SQLITE_ROW) {
    ++taken;
    last_seq = rows.integer(0);
    std::size_t from = filed.size();
    if (Status s = read_outbox_jobs(rows, now, filed); !s.is_ok()) return s;
    for (std::size_t i = from; i < filed.size(); ++i) {
      JobRow& j = filed[i];
      // Due ones are claimed at once, up to the claim's room; the others
      // (a first delay in the integration's schedule) wait as pending.
      if (claim.claimed == nullptr || taken_now.size() >= claim.max_jobs || j.due_ms > claim.now_ms) continue;
      taken_now.push_back(i);
      j.status = "running";
      j.attempts = 1;
      j.due_ms = claim.now_ms + claim.lease_ms;
    }
  }
  if (rc != SQLITE_DONE) return status_of(rc, db);
  if (taken == 0) return std::size_t{0};
  std::vector<std::int64_t> seqs;
  if (Status s = insert_job_rows(db, filed, &seqs); !s.is_ok()) return s;
  auto done = db.prepare("DELETE FROM job_outbox WHERE seq <= ?");
  done.bind(1, last_seq);
  if (Status s = status_of(done.step(), db); !s.is_ok()) return s;
  for (std::size_t i : taken_now) {
    filed[i].seq = seqs[i];
    claim.claimed->push_back(std::move(filed[i]));
  }
  return taken;
}

Result<std::vector<JobRow>> outbox_jobs_of(Connection& db, std::string_view source_id) {
  static const std::string sql = std::string("SELECT ") + outbox_columns + " FROM job_outbox WHERE source_id = ?";
  auto rows = db.prepare(sql.c_str());
  rows.bind(1, source_id);
  std::vector<JobRow> out;
  std::string now = now_utc();
  int rc;
  while ((rc = rows.step()) == SQLITE_ROW) {
    if (Status s = read_outbox_jobs(rows, now, out); !s.is_ok()) return s;
  }
  if (rc != SQLITE_DONE) return status_of(rc, db);
  return out;
}

std::string list_jobs_sql(const JobFilter& f) {
  std::string sql = std::string("SELECT ") + job_columns + " FROM jobs WHERE seq > ?";
  for (const auto& [column, value] : job_filter_conditions(f)) sql.append(" AND ").append(column).append(" = ?");
  return sql + " ORDER BY seq LIMIT ?";
}

}  // namespace sqlite

asio::awaitable<Status> SqliteStore::create_integration(IntegrationRow row) {
  sqlite::GroupWriter::Work work = [row = std::move(row)](Connection& db) {
    static const std::string sql =
        std::string("INSERT INTO integrations (") + integration_columns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
    auto stmt = db.prepare(sql.c_str());
    stmt.bind(1, row.id).bind(2, row.source_id).bind(3, row.definition).bind(4, row.secret);
    stmt.bind(5, row.previous_secret).bind(6, row.previous_until).bind(7, row.disabled_reason);
    stmt.bind(8, row.created_at).bind(9, row.updated_at);
    return sqlite::status_of(stmt.step(), db);
  };
  co_return co_await write(std::move(work));
}

Result<std::vector<IntegrationRow>> SqliteStore::list_integrations(const Page& page) {
  auto db = reader();
  static const std::string sql =
      "SELECT " + integration_read_columns + " FROM integrations WHERE id > ? ORDER BY id LIMIT ?";
  auto stmt = db->prepare(sql.c_str());
  stmt.bind(1, page.after).bind(2, static_cast<std::int64_t>(page.limit));
  std::vector<IntegrationRow> out;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) out.push_back(read_integration(stmt));
  if (rc != SQLITE_DONE) return sqlite::status_of(rc, *db);
  return out;
}

Result<IntegrationRow> SqliteStore::get_integration(std::string_view id) {
  auto db = reader();
  static const std::string sql = "SELECT " + integration_read_columns + " FROM integrations WHERE id = ?";
  auto stmt = db->prepare(sql.c_str());
  stmt.bind(1, id);
  int rc = stmt.step();
  if (rc == SQLITE_ROW) return read_integration(stmt);
  if (rc == SQLITE_DONE) return Status::not_found("integration");
  return sqlite::status_of(rc, *db);
}

asio::awaitable<Status> SqliteStore::update_integration(IntegrationRow row) {
  sqlite::GroupWriter::Work work = [row = std::move(row)](Connection& db) {
    auto stmt = db.prepare(
        "UPDATE integrations SET source_id = ?, definition = ?, secret = ?, previous_secret = ?,"
        " previous_until = ?, disabled_reason = ?, updated_at = ? WHERE id = ?");
    stmt.bind(1, row.source_id).bind(2, row.definition).bind(3, row.secret).bind(4, row.previous_secret);
    stmt.bind(5, row.previous_until).bind(6, row.disabled_reason).bind(7, row.updated_at).bind(8, row.id);
    Status s = sqlite::status_of(stmt.step(), db);
    if (s.is_ok() && sqlite3_changes(db.handle()) == 0) return Status::not_found("integration");
    return s;
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Status> SqliteStore::delete_integration(std::string id) {
  if (Status s = co_await file_all_pending_jobs(); !s.is_ok()) co_return s;
  sqlite::GroupWriter::Work work = [id = std::move(id)](Connection& db) {
    auto del = db.prepare("DELETE FROM integrations WHERE id = ?");
    del.bind(1, id);
    Status s = sqlite::status_of(del.step(), db);
    if (!s.is_ok()) return s;
    if (sqlite3_changes(db.handle()) == 0) return Status::not_found("integration");
    auto cancel = db.prepare(
        "UPDATE jobs SET status = 'cancelled', updated_at = ?, last_error = 'the integration was deleted'"
        " WHERE integration_id = ? AND status IN ('pending', 'failed', 'running', 'awaiting_callback')");
    cancel.bind(1, now_utc()).bind(2, id);
    return sqlite::status_of(cancel.step(), db);
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Status> SqliteStore::insert_jobs(std::vector<JobRow> jobs) {
  sqlite::GroupWriter::Work work = [jobs = std::move(jobs)](Connection& db) {
    return sqlite::insert_job_rows(db, jobs);
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Result<std::vector<JobRow>>> SqliteStore::claim_jobs(std::int64_t now_ms, std::int64_t lease_ms,
                                                                     std::size_t limit) {
  runner_writes_.fetch_add(1, std::memory_order_relaxed);
  auto claimed = std::make_shared<std::vector<JobRow>>();
  sqlite::GroupWriter::Work work = [claimed, now_ms, lease_ms, limit](Connection& db) {
    claimed->clear();
    // The partial index serves the order, so a claim reads only the rows it
    // takes; left to itself the planner picks jobs_by_status and sorts the
    // whole queue (measured: a tenth of the submit rate with a backlog).
    static const std::string sql = std::string("SELECT ") + job_columns +
                                   " FROM jobs INDEXED BY jobs_due"
                                   " WHERE status IN ('pending', 'failed', 'running', 'awaiting_callback')"
                                   " AND due_ms <= ? ORDER BY due_ms LIMIT ?";
    auto due = db.prepare(sql.c_str());
    due.bind(1, now_ms).bind(2, static_cast<std::int64_t>(limit));
    int rc;
    while ((rc = due.step()) == SQLITE_ROW) claimed->push_back(read_job(due));
    if (rc != SQLITE_DONE) return sqlite::status_of(rc, db);
    auto take = db.prepare(
        "UPDATE jobs SET status = 'running', attempts = ?, due_ms = ?, callback_token_hash = '', updated_at = ?"
        " WHERE seq = ?");
    std::string now = now_utc();
    for (JobRow& j : *claimed) {
      // A callback that never came ends the attempt it belonged to; the next
      // attempt is counted when it starts.
      j.callback_expired = j.status == "awaiting_callback";
      j.status = "running";
      if (!j.callback_expired) j.attempts += 1;
      j.due_ms = now_ms + lease_ms;
      take.bind(1, std::int64_t{j.attempts}).bind(2, j.due_ms).bind(3, now).bind(4, j.seq);
      if (Status s = sqlite::status_of(take.step(), db); !s.is_ok()) return s;
      take.reset();
    }
    // Then new jobs, straight from the outbox: filed already claimed, which
    // spares them the update.
    if (claimed->size() < limit) {
      std::size_t more = limit - claimed->size();
      auto filed = sqlite::file_outbox_rows(db, more, std::numeric_limits<std::int64_t>::max(),
                                            {more, now_ms, lease_ms, claimed.get()});
      if (!filed.is_ok()) return filed.status();
    }
    return Status::ok();
  };
  Status status = co_await write(std::move(work));
  if (!status.is_ok()) co_return status;
  co_return std::move(*claimed);
}

asio::awaitable<Status> SqliteStore::requeue_running_jobs(std::int64_t now_ms) {
  sqlite::GroupWriter::Work work = [now_ms](Connection& db) {
    auto stmt = db.prepare("UPDATE jobs SET due_ms = ? WHERE status = 'running' AND due_ms > ?");
    stmt.bind(1, now_ms).bind(2, now_ms);
    return sqlite::status_of(stmt.step(), db);
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Status> SqliteStore::extend_leases(std::vector<HeldJob> held, std::int64_t until_ms) {
  runner_writes_.fetch_add(1, std::memory_order_relaxed);
  sqlite::GroupWriter::Work work = [held = std::move(held), until_ms](Connection& db) {
    auto stmt = db.prepare("UPDATE jobs SET due_ms = ? WHERE seq = ? AND status = 'running' AND attempts = ?");
    for (const HeldJob& job : held) {
      stmt.bind(1, until_ms).bind(2, job.seq).bind(3, std::int64_t{job.attempts});
      if (Status s = sqlite::status_of(stmt.step(), db); !s.is_ok()) return s;
      stmt.reset();
    }
    return Status::ok();
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Result<bool>> SqliteStore::finish_attempt(AttemptOutcome o) {
  runner_writes_.fetch_add(1, std::memory_order_relaxed);
  auto recorded = std::make_shared<bool>(false);
  sqlite::GroupWriter::Work work = [o = std::move(o), recorded](Connection& db) {
    *recorded = false;
    auto job = find_job(db, o.job_id);
    if (!job.is_ok()) return job.status().code() == Status::Code::not_found ? Status::ok() : job.status();
    const JobRow& j = job.value();
    if (!outcome_applies(j, o)) return Status::ok();
    auto attempt = db.prepare(
        "INSERT OR REPLACE INTO job_attempts (job_seq, number, started_at, duration_ms, outcome, http_status, error,"
        " log) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    attempt.bind(1, j.seq).bind(2, std::int64_t{o.attempt_number}).bind(3, o.attempt.started_at);
    attempt.bind(4, o.attempt.duration_ms).bind(5, o.attempt.outcome).bind(6, std::int64_t{o.attempt.http_status});
    attempt.bind(7, o.attempt.error).bind(8, o.attempt.log);
    if (Status s = sqlite::status_of(attempt.step(), db); !s.is_ok()) return s;
    auto update = db.prepare(
        "UPDATE jobs SET status = ?, due_ms = ?, last_error = ?, output = ?, callback_token_hash = ?, updated_at = ?"
        " WHERE seq = ?");
    update.bind(1, o.status).bind(2, o.due_ms).bind(3, o.attempt.error).bind(4, o.output);
    update.bind(5, o.callback_token_hash).bind(6, now_utc()).bind(7, j.seq);
    if (Status s = sqlite::status_of(update.step(), db); !s.is_ok()) return s;
    if (!o.disable_integration.empty()) {
      auto disable = db.prepare(
          "UPDATE integrations SET definition = json_set(definition, '$.enabled', json('false')),"
          " disabled_reason = ?, updated_at = ? WHERE id = ?");
      disable.bind(1, o.disable_integration).bind(2, now_utc()).bind(3, j.integration_id);
      if (Status s = sqlite::status_of(disable.step(), db); !s.is_ok()) return s;
    }
    if (o.integration_error) {
      auto error = db.prepare("UPDATE integrations SET last_error = ?1 WHERE id = ?2 AND last_error <> ?1");
      error.bind(1, *o.integration_error).bind(2, j.integration_id);
      if (Status s = sqlite::status_of(error.step(), db); !s.is_ok()) return s;
    }
    *recorded = true;
    return Status::ok();
  };
  Status status = co_await write(std::move(work));
  if (!status.is_ok()) co_return status;
  co_return *recorded;
}

asio::awaitable<Result<std::size_t>> SqliteStore::file_pending_jobs(std::size_t max_rows) {
  // Up to the last row committed now, so that a steady stream of new rows
  // cannot keep the caller waiting; in slices, so that the writes of the
  // request path go between them.
  std::int64_t through = 0;
  {
    auto db = reader();
    auto last = db->prepare("SELECT coalesce(max(seq), 0) FROM job_outbox");
    int rc = last.step();
    if (rc != SQLITE_ROW) co_return sqlite::status_of(rc, *db);
    through = last.integer(0);
  }
  std::size_t total = 0;
  if (through == 0) co_return total;
  constexpr std::size_t slice = 4096;
  while (total < max_rows) {
    std::size_t want = std::min(slice, max_rows - total);
    auto filed = std::make_shared<std::size_t>(0);
    sqlite::GroupWriter::Work work = [filed, through, want](Connection& db) {
      auto rows = sqlite::file_outbox_rows(db, want, through);
      if (!rows.is_ok()) return rows.status();
      *filed = rows.value();
      return Status::ok();
    };
    if (Status s = co_await write(std::move(work)); !s.is_ok()) co_return s;
    total += *filed;
    if (*filed < want) break;
  }
  co_return total;
}

asio::awaitable<Status> SqliteStore::file_all_pending_jobs() {
  auto filed = co_await file_pending_jobs(std::numeric_limits<std::size_t>::max());
  co_return filed.is_ok() ? Status::ok() : filed.status();
}

asio::awaitable<Status> SqliteStore::file_job(const std::string& id) {
  bool filed = false;
  {
    auto db = reader();
    filed = find_job(*db, id).is_ok();
  }
  if (filed) co_return Status::ok();
  co_return co_await file_all_pending_jobs();
}

Result<std::vector<JobRow>> SqliteStore::jobs_of_source(std::string_view source_id) {
  auto db = reader();
  sqlite::ReadTransaction snapshot(*db);
  static const std::string sql = std::string("SELECT ") + job_columns + " FROM jobs WHERE source_id = ? ORDER BY seq";
  auto stmt = db->prepare(sql.c_str());
  stmt.bind(1, source_id);
  std::vector<JobRow> out;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) out.push_back(read_job(stmt));
  if (rc != SQLITE_DONE) return sqlite::status_of(rc, *db);
  auto waiting = sqlite::outbox_jobs_of(*db, source_id);
  if (!waiting.is_ok()) return waiting.status();
  for (JobRow& j : waiting.value()) out.push_back(std::move(j));
  return out;
}

Result<std::vector<JobRow>> SqliteStore::list_jobs(const JobFilter& f) {
  auto db = reader();
  auto stmt = db->prepare_text(sqlite::list_jobs_sql(f));
  int index = 1;
  stmt.bind(index++, f.after_seq);
  for (const auto& [column, value] : job_filter_conditions(f)) stmt.bind(index++, *value);
  stmt.bind(index, static_cast<std::int64_t>(f.limit));
  std::vector<JobRow> out;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) out.push_back(read_job(stmt));
  if (rc != SQLITE_DONE) return sqlite::status_of(rc, *db);
  return out;
}

Result<JobRow> SqliteStore::get_job(std::string_view id) {
  auto db = reader();
  return find_job(*db, id);
}

Result<std::vector<JobAttemptRow>> SqliteStore::list_attempts(std::int64_t job_seq) {
  auto db = reader();
  auto stmt = db->prepare(
      "SELECT number, started_at, duration_ms, outcome, http_status, error, log FROM job_attempts WHERE job_seq = ?"
      " ORDER BY number");
  stmt.bind(1, job_seq);
  std::vector<JobAttemptRow> out;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) {
    out.push_back({static_cast<int>(stmt.integer(0)), stmt.text(1), stmt.integer(2), stmt.text(3),
                   static_cast<int>(stmt.integer(4)), stmt.text(5), stmt.text(6)});
  }
  if (rc != SQLITE_DONE) return sqlite::status_of(rc, *db);
  return out;
}

Result<std::vector<std::pair<std::string, std::int64_t>>> SqliteStore::count_open_jobs() {
  auto db = reader();
  std::vector<std::pair<std::string, std::int64_t>> out;
  auto stmt = db->prepare("SELECT count(*) FROM jobs WHERE status = ?");
  for (const char* status : {"pending", "running", "awaiting_callback", "failed"}) {
    stmt.bind(1, std::string_view(status));
    int rc = stmt.step();
    if (rc != SQLITE_ROW) return sqlite::status_of(rc, *db);
    out.emplace_back(status, stmt.integer(0));
    stmt.reset();
  }
  // Jobs still in the outbox are pending.
  auto outbox = db->prepare("SELECT coalesce(sum(job_count), 0) FROM job_outbox");
  int rc = outbox.step();
  if (rc != SQLITE_ROW) return sqlite::status_of(rc, *db);
  out.front().second += outbox.integer(0);
  return out;
}

asio::awaitable<Result<JobRow>> SqliteStore::retry_job(std::string id, std::int64_t now_ms) {
  if (Status s = co_await file_job(id); !s.is_ok()) co_return s;
  auto job = std::make_shared<JobRow>();
  sqlite::GroupWriter::Work work = [id = std::move(id), now_ms, job](Connection& db) {
    return transition(db, id, job_states_retryable, "pending", now_ms, *job);
  };
  Status status = co_await write(std::move(work));
  if (!status.is_ok()) co_return status;
  co_return std::move(*job);
}

asio::awaitable<Result<JobRow>> SqliteStore::cancel_job(std::string id) {
  if (Status s = co_await file_job(id); !s.is_ok()) co_return s;
  auto job = std::make_shared<JobRow>();
  sqlite::GroupWriter::Work work = [id = std::move(id), job](Connection& db) {
    return transition(db, id, job_states_cancellable, "cancelled", 0, *job);
  };
  Status status = co_await write(std::move(work));
  if (!status.is_ok()) co_return status;
  co_return std::move(*job);
}

}  // namespace daisy
