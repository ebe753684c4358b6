// PostgresStore: forms, responses and revisions.
//
// Several writer threads (and nodes) write side by side, so every check the
// SQLite store makes by reading before it writes is made here by the
// database: the idempotency key's unique index (ON CONFLICT), a row lock on
// the response being corrected, and conditional UPDATEs on a form's version.
// A Work may run again after a rollback, so each reads its inputs from its
// own copies and sets its outputs afresh on every run.
#include <fmt/format.h>

#include "store/postgres/pg_locks.h"
#include "store/postgres/pg_store.h"

namespace daisy {
namespace asio = boost::asio;
using pg::Connection;
using pg::Rows;

namespace {

constexpr const char* response_columns =
    "seq, id, form_id, form_version, status, answers, metadata, checks, submitted_at, received_at,"
    " updated_at, revision, app_id";
constexpr int response_column_count = 13;
// The response stored under an idempotency key, and the hash of the request that stored it.
const std::string by_key_sql =
    fmt::format("SELECT {}, request_hash FROM responses WHERE form_id = $1 AND idempotency_key = $2", response_columns);

ResponseRow response_of(const Rows& r, int i) {
  ResponseRow row;
  row.seq = r.integer(i, 0);
  row.id = r.text(i, 1);
  row.form_id = r.text(i, 2);
  row.form_version = static_cast<int>(r.integer(i, 3));
  row.status = r.text(i, 4);
  row.answers = r.text(i, 5);
  row.metadata = r.text(i, 6);
  row.checks = r.text(i, 7);
  row.submitted_at = r.text(i, 8);
  row.received_at = r.text(i, 9);
  row.updated_at = r.text(i, 10);
  row.revision = static_cast<int>(r.integer(i, 11));
  row.app_id = r.is_null(i, 12) ? std::string() : r.text(i, 12);
  return row;
}

constexpr const char* form_columns = "id, version, definition, created_at, updated_at, archived_at";

FormRow form_of(const Rows& r, int i) {
  FormRow f;
  f.id = r.text(i, 0);
  f.version = static_cast<int>(r.integer(i, 1));
  f.definition = r.text(i, 2);
  f.created_at = r.text(i, 3);
  f.updated_at = r.text(i, 4);
  f.archived_at = r.is_null(i, 5) ? std::string() : r.text(i, 5);
  return f;
}

pg::Param text_or_null(const std::string& v) { return v.empty() ? pg::Param(pg::null) : pg::Param(v); }

Status insert_form_version(Connection& db, const FormRow& form) {
  return db
      .query("INSERT INTO form_versions (form_id, version, definition, created_at) VALUES ($1, $2, $3, $4)", form.id,
             form.version, form.definition, form.updated_at)
      .status();
}

Status insert_revision(Connection& db, const ResponseRow& r) {
  return db
      .query(
          "INSERT INTO response_revisions (response_id, revision, form_version, status, answers, checks,"
          " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
          r.id, r.revision, r.form_version, r.status, r.answers, r.checks, r.updated_at)
      .status();
}

}  // namespace

asio::awaitable<Status> PostgresStore::create_form(FormRow form) {
  pg::Writer::Work work = [form = std::move(form)](Connection& db) {
    Rows r = db.query("INSERT INTO forms (id, version, definition, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
                      form.id, form.version, form.definition, form.created_at, form.updated_at);
    if (!r.ok()) return r.status();
    return insert_form_version(db, form);
  };
  co_return co_await write(std::move(work));
}

Result<std::vector<FormRow>> PostgresStore::list_forms(const Page& page) {
  return read([&](Connection& db) {
    static const std::string sql = fmt::format("SELECT {} FROM forms WHERE id > $1 ORDER BY id LIMIT $2", form_columns);
    return pg::all_rows(db.query(sql, page.after, page.limit), form_of);
  });
}

Result<FormRow> PostgresStore::get_form(std::string_view id) {
  return read([&](Connection& db) {
    static const std::string sql = fmt::format("SELECT {} FROM forms WHERE id = $1", form_columns);
    return pg::first_row(db.query(sql, id), form_of, "form");
  });
}

asio::awaitable<Status> PostgresStore::update_form(FormRow form, bool new_version) {
  pg::Writer::Work work = [form = std::move(form), new_version](Connection& db) {
    // Conditional on the version read: a concurrent update that committed
    // first has changed it, so this one matches no row (PostgreSQL re-checks
    // the condition on the row the other wrote).
    Rows r = db.query(
        "UPDATE forms SET version = $1, definition = $2, updated_at = $3"
        " WHERE id = $4 AND archived_at IS NULL AND version = $5",
        form.version, form.definition, form.updated_at, form.id, new_version ? form.version - 1 : form.version);
    if (!r.ok()) return r.status();
    if (r.affected() == 0) return Status::conflict("the form was changed or archived meanwhile; read it again");
    if (new_version) return insert_form_version(db, form);
    return Status::ok();
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Status> PostgresStore::archive_form(std::string id, std::string archived_at) {
  pg::Writer::Work work = [id = std::move(id), archived_at = std::move(archived_at)](Connection& db) {
    Rows r = db.query("UPDATE forms SET archived_at = $1, updated_at = $1 WHERE id = $2 AND archived_at IS NULL",
                      archived_at, id);
    if (!r.ok()) return r.status();
    if (r.affected() == 0) return Status::not_found("form");
    return Status::ok();
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Result<SubmitOutcome>> PostgresStore::insert_response(std::shared_ptr<ResponseRow> row, std::string key,
                                                                      std::string hash, std::vector<JobRow> jobs) {
  auto outcome = std::make_shared<SubmitOutcome>(SubmitOutcome::stored);
  pg::Writer::Work work = [row, input = *row, key = std::move(key), hash = std::move(hash), outcome,
                           jobs = std::move(jobs)](Connection& db) -> Status {
    *outcome = SubmitOutcome::stored;
    *row = input;
    // The unique index on (form_id, idempotency_key) decides between
    // concurrent duplicates on any node: the loser's insert waits for the
    // winner's commit and then inserts nothing.
    //
    // The advisory lock, held until commit, makes responses commit in seq
    // order across writers and nodes: a listing that follows its cursor
    // (seq) never skips a response that commits after a later one. Taken in
    // the statement (before the row gets its seq), so it costs no round trip.
    Rows inserted = db.query(
        "INSERT INTO responses (id, form_id, form_version, status, answers, metadata, checks, submitted_at,"
        " received_at, updated_at, revision, app_id, idempotency_key, request_hash)"
        " SELECT $1, $2, $3::int, $4, $5, $6, $7, $8, $9, $10, $11::int, $12, $13, $14"
        " FROM (SELECT pg_advisory_xact_lock($15)) AS in_seq_order"
        " ON CONFLICT (form_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING seq",
        input.id, input.form_id, input.form_version, input.status, input.answers, input.metadata, input.checks,
        input.submitted_at, input.received_at, input.updated_at, input.revision, text_or_null(input.app_id),
        text_or_null(key), key.empty() ? pg::Param(pg::null) : pg::Param(hash), pg::locks::seq_order);
    if (!inserted.ok()) return inserted.status();
    if (!inserted.empty()) {
      row->seq = inserted.integer(0, 0);
      // Revision 1 is the row itself until a correction copies it to the history.
      if (jobs.empty()) return Status::ok();
      return insert_job_rows(db, jobs);
    }
    if (key.empty()) return Status::internal("a response without an idempotency key was not inserted");
    // This statement's snapshot is newer than the winner's commit (read committed).
    Rows found = db.query(by_key_sql, input.form_id, key);
    if (!found.ok()) return found.status();
    if (found.empty()) return Status::unavailable("a concurrent submission with the same key is unsettled; retry");
    *outcome = outcome_of_known_key(found.view(0, response_column_count), hash);
    if (*outcome == SubmitOutcome::replayed) *row = response_of(found, 0);
    return Status::ok();
  };
  Status status = co_await write(std::move(work));
  if (!status.is_ok()) co_return status;
  co_return *outcome;
}

Result<std::optional<std::pair<ResponseRow, std::string>>> PostgresStore::find_by_idempotency_key(
    std::string_view form_id, std::string_view key) {
  using Found = std::optional<std::pair<ResponseRow, std::string>>;
  return read([&](Connection& db) -> Result<Found> {
    Rows r = db.query(by_key_sql, form_id, key);
    if (!r.ok()) return r.status();
    if (r.empty()) return Found();
    return Found(std::make_pair(response_of(r, 0), r.text(0, response_column_count)));
  });
}

Result<ResponseRow> PostgresStore::get_response(std::string_view form_id, std::string_view id) {
  return read([&](Connection& db) {
    static const std::string sql =
        fmt::format("SELECT {} FROM responses WHERE id = $1 AND form_id = $2", response_columns);
    return pg::first_row(db.query(sql, id, form_id), response_of, "response");
  });
}

Result<ResponseRow> PostgresStore::get_response_revision(std::string_view id, int revision) {
  return read([&](Connection& db) -> Result<ResponseRow> {
    // One statement, one snapshot: a correction cannot land between reading
    // the response and its history.
    static const std::string sql =
        "SELECT r.seq, r.id, r.form_id, r.form_version, r.status, r.answers, r.metadata, r.checks,"
        " r.submitted_at, r.received_at, r.updated_at, r.revision, r.app_id,"
        " h.form_version, h.status, h.answers, h.checks, h.created_at, h.response_id IS NOT NULL"
        " FROM responses r LEFT JOIN response_revisions h ON h.response_id = r.id AND h.revision = $2"
        " WHERE r.id = $1";
    Rows r = db.query(sql, id, revision);
    if (!r.ok()) return r.status();
    if (r.empty()) return Status::not_found("response");
    ResponseRow row = response_of(r, 0);
    if (row.revision == revision) return row;
    // An earlier revision: what changes between revisions is in the history
    // (revision 1's updated_at is its received_at, as the response had it).
    constexpr int h = response_column_count;
    if (!r.boolean(0, h + 5)) return Status::not_found("response revision");
    row.form_version = static_cast<int>(r.integer(0, h));
    row.status = r.text(0, h + 1);
    row.answers = r.text(0, h + 2);
    row.checks = r.text(0, h + 3);
    row.updated_at = r.text(0, h + 4);
    row.revision = revision;
    return row;
  });
}

Result<std::vector<ResponseRow>> PostgresStore::list_responses(std::string_view form_id, const ResponseFilter& f) {
  return read([&](Connection& db) {
    // Walks responses_form_seq from the cursor; the other filters are checked
    // on the way, as in SQLite.
    static const std::string sql = fmt::format(
        "SELECT {} FROM responses WHERE form_id = $1 AND seq > $2"
        " AND ($3 = '' OR status = $3) AND ($4 = '' OR received_at >= $4) AND ($5 = '' OR received_at < $5)"
        " ORDER BY seq LIMIT $6",
        response_columns);
    return pg::all_rows(db.query(sql, form_id, f.after_seq, f.status, f.since, f.until, f.limit), response_of);
  });
}

Result<std::vector<FormRow>> PostgresStore::list_form_versions(std::string_view form_id, int after_version,
                                                               std::size_t limit) {
  return read([&](Connection& db) {
    Rows rows = db.query(
        "SELECT form_id, version, definition, created_at FROM form_versions"
        " WHERE form_id = $1 AND version > $2 ORDER BY version LIMIT $3",
        form_id, after_version, limit);
    return pg::all_rows(rows, [](const Rows& r, int i) {
      FormRow f;
      f.id = r.text(i, 0);
      f.version = static_cast<int>(r.integer(i, 1));
      f.definition = r.text(i, 2);
      f.created_at = f.updated_at = r.text(i, 3);
      return f;
    });
  });
}

Result<std::vector<ResponseRow>> PostgresStore::responses_updated_since(const ResponsesSince& q) {
  return read([&](Connection& db) {
    static const std::string sql = fmt::format(
        "SELECT {} FROM responses WHERE updated_at >= $1 AND ($2 = '' OR form_id = $2) AND ($3 = '' OR app_id = $3)"
        " ORDER BY updated_at, seq LIMIT $4",
        response_columns);
    return pg::all_rows(db.query(sql, q.since, q.form_id, q.app_id, q.limit), response_of);
  });
}

asio::awaitable<Status> PostgresStore::revise_response(std::shared_ptr<ResponseRow> row, std::vector<JobRow> jobs) {
  pg::Writer::Work work = [row, input = *row, jobs = std::move(jobs)](Connection& db) -> Status {
    // The row lock orders concurrent corrections of one response: the next
    // waits here, then reads the revision this one wrote.
    static const std::string current_sql =
        fmt::format("SELECT {} FROM responses WHERE id = $1 AND form_id = $2 FOR UPDATE", response_columns);
    Rows current = db.query(current_sql, input.id, input.form_id);
    if (!current.ok()) return current.status();
    if (current.empty()) return Status::not_found("response");
    ResponseRow before = response_of(current, 0);
    if (before.revision == 1) {
      // The first correction moves the original into the history.
      before.updated_at = before.received_at;
      if (Status s = insert_revision(db, before); !s.is_ok()) return s;
    }
    static const std::string update_sql = fmt::format(
        "UPDATE responses SET form_version = $1, status = $2, answers = $3, checks = $4, updated_at = $5,"
        " revision = $6 WHERE id = $7 RETURNING {}",
        response_columns);
    Rows updated = db.query(update_sql, input.form_version, input.status, input.answers, input.checks, input.updated_at,
                            before.revision + 1, input.id);
    if (!updated.ok()) return updated.status();
    if (updated.empty()) return Status::not_found("response");
    ResponseRow after = response_of(updated, 0);
    if (Status s = insert_revision(db, after); !s.is_ok()) return s;
    // Jobs that send a revision send this one, whatever their caller read.
    std::vector<JobRow> revised = jobs;
    for (JobRow& job : revised) {
      if (job.revision > 0) job.revision = after.revision;
    }
    if (!revised.empty()) {
      if (Status s = insert_job_rows(db, revised); !s.is_ok()) return s;
    }
    *row = std::move(after);
    return Status::ok();
  };
  co_return co_await write(std::move(work));
}

Result<std::vector<RevisionRow>> PostgresStore::list_revisions(std::string_view response_id) {
  return read([&](Connection& db) -> Result<std::vector<RevisionRow>> {
    // One statement, one snapshot. A response never corrected has no history:
    // it is revision 1 itself.
    Rows r = db.query(
        "SELECT revision, form_version, status, answers, checks, created_at FROM response_revisions"
        " WHERE response_id = $1"
        " UNION ALL"
        " SELECT 1, form_version, status, answers, checks, received_at FROM responses"
        " WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM response_revisions WHERE response_id = $1)"
        " ORDER BY 1",
        response_id);
    if (r.ok() && r.empty()) return Status::not_found("response");
    return pg::all_rows(r, [](const Rows& rows, int i) {
      return RevisionRow{static_cast<int>(rows.integer(i, 0)),
                         static_cast<int>(rows.integer(i, 1)),
                         rows.text(i, 2),
                         rows.text(i, 3),
                         rows.text(i, 4),
                         rows.text(i, 5)};
    });
  });
}

}  // namespace daisy
