// SqliteStore: forms, responses and revisions.
#include <fmt/format.h>

#include "store/sqlite/sqlite_jobs.h"
#include "store/sqlite/sqlite_status.h"
#include "store/sqlite/sqlite_store.h"

namespace daisy {
namespace asio = boost::asio;
using sqlite::Connection;
using sqlite::Statement;

namespace {

constexpr const char* response_columns =
    "seq, id, form_id, form_version, status, answers, metadata, checks, submitted_at, received_at,"
    " updated_at, revision, app_id";

void read_response(Statement& stmt, ResponseRow& r) {
  r.seq = stmt.integer(0);
  r.id = stmt.text(1);
  r.form_id = stmt.text(2);
  r.form_version = static_cast<int>(stmt.integer(3));
  r.status = stmt.text(4);
  r.answers = stmt.text(5);
  r.metadata = stmt.text(6);
  r.checks = stmt.text(7);
  r.submitted_at = stmt.text(8);
  r.received_at = stmt.text(9);
  r.updated_at = stmt.text(10);
  r.revision = static_cast<int>(stmt.integer(11));
  r.app_id = stmt.is_null(12) ? std::string() : stmt.text(12);
}

FormRow read_form(Statement& stmt) {
  FormRow f;
  f.id = stmt.text(0);
  f.version = static_cast<int>(stmt.integer(1));
  f.definition = stmt.text(2);
  f.created_at = stmt.text(3);
  f.updated_at = stmt.text(4);
  f.archived_at = stmt.is_null(5) ? std::string() : stmt.text(5);
  return f;
}

// Every row of a statement over response_columns.
Result<std::vector<ResponseRow>> all_responses(Statement& stmt, Connection& db) {
  std::vector<ResponseRow> out;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) {
    out.emplace_back();
    read_response(stmt, out.back());
  }
  if (rc != SQLITE_DONE) return sqlite::status_of(rc, db);
  return out;
}

Status insert_form_version(Connection& db, const FormRow& form) {
  auto stmt = db.prepare("INSERT INTO form_versions (form_id, version, definition, created_at) VALUES (?, ?, ?, ?)");
  stmt.bind(1, form.id).bind(2, std::int64_t{form.version}).bind(3, form.definition).bind(4, form.updated_at);
  return sqlite::status_of(stmt.step(), db);
}

Status insert_revision(Connection& db, const ResponseRow& r) {
  auto stmt = db.prepare(
      "INSERT INTO response_revisions (response_id, revision, form_version, status, answers, checks, created_at)"
      " VALUES (?, ?, ?, ?, ?, ?, ?)");
  stmt.bind(1, r.id)
      .bind(2, std::int64_t{r.revision})
      .bind(3, std::int64_t{r.form_version})
      .bind(4, r.status)
      .bind(5, r.answers)
      .bind(6, r.checks)
      .bind(7, r.updated_at);
  return sqlite::status_of(stmt.step(), db);
}

}  // namespace

asio::awaitable<Status> SqliteStore::create_form(FormRow form) {
  sqlite::GroupWriter::Work work = [form = std::move(form)](Connection& db) {
    auto stmt =
        db.prepare("INSERT INTO forms (id, version, definition, created_at, updated_at) VALUES (?, ?, ?, ?, ?)");
    stmt.bind(1, form.id)
        .bind(2, std::int64_t{form.version})
        .bind(3, form.definition)
        .bind(4, form.created_at)
        .bind(5, form.updated_at);
    Status s = sqlite::status_of(stmt.step(), db);
    if (!s.is_ok()) return s;
    return insert_form_version(db, form);
  };
  co_return co_await write(std::move(work));
}

Result<std::vector<FormRow>> SqliteStore::list_forms(const Page& page) {
  auto db = reader();
  auto stmt = db->prepare(
      "SELECT id, version, definition, created_at, updated_at, archived_at FROM forms"
      " WHERE id > ? ORDER BY id LIMIT ?");
  stmt.bind(1, page.after).bind(2, static_cast<std::int64_t>(page.limit));
  std::vector<FormRow> out;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) out.push_back(read_form(stmt));
  if (rc != SQLITE_DONE) return sqlite::status_of(rc, *db);
  return out;
}

Result<FormRow> SqliteStore::get_form(std::string_view id) {
  auto db = reader();
  auto stmt =
      db->prepare("SELECT id, version, definition, created_at, updated_at, archived_at FROM forms WHERE id = ?");
  stmt.bind(1, id);
  int rc = stmt.step();
  if (rc == SQLITE_ROW) return read_form(stmt);
  if (rc == SQLITE_DONE) return Status::not_found("form");
  return sqlite::status_of(rc, *db);
}

asio::awaitable<Status> SqliteStore::update_form(FormRow form, bool new_version) {
  sqlite::GroupWriter::Work work = [form = std::move(form), new_version](Connection& db) {
    auto stmt = db.prepare(
        "UPDATE forms SET version = ?, definition = ?, updated_at = ?"
        " WHERE id = ? AND archived_at IS NULL AND version = ?");
    stmt.bind(1, std::int64_t{form.version})
        .bind(2, form.definition)
        .bind(3, form.updated_at)
        .bind(4, form.id)
        .bind(5, std::int64_t{new_version ? form.version - 1 : form.version});
    Status s = sqlite::status_of(stmt.step(), db);
    if (!s.is_ok()) return s;
    if (sqlite3_changes(db.handle()) == 0) {
      return Status::conflict("the form was changed or archived meanwhile; read it again");
    }
    if (new_version) return insert_form_version(db, form);
    return Status::ok();
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Status> SqliteStore::archive_form(std::string id, std::string archived_at) {
  sqlite::GroupWriter::Work work = [id = std::move(id), archived_at = std::move(archived_at)](Connection& db) {
    auto stmt = db.prepare("UPDATE forms SET archived_at = ?, updated_at = ? WHERE id = ? AND archived_at IS NULL");
    stmt.bind(1, archived_at).bind(2, archived_at).bind(3, id);
    Status s = sqlite::status_of(stmt.step(), db);
    if (s.is_ok() && sqlite3_changes(db.handle()) == 0) return Status::not_found("form");
    return s;
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Result<SubmitOutcome>> SqliteStore::insert_response(std::shared_ptr<ResponseRow> row, std::string key,
                                                                    std::string hash, std::vector<JobRow> jobs) {
  auto outcome = std::make_shared<SubmitOutcome>(SubmitOutcome::stored);
  sqlite::GroupWriter::Work work = [row, key = std::move(key), hash = std::move(hash), outcome,
                                    jobs = std::move(jobs)](Connection& db) {
    if (!key.empty()) {
      // The writer runs one write at a time, so this check and the insert
      // below cannot interleave with a concurrent duplicate.
      auto find = db.prepare(
          "SELECT seq, id, form_id, form_version, status, answers, metadata, checks, submitted_at,"
          " received_at, updated_at, revision, app_id, request_hash FROM responses"
          " WHERE form_id = ? AND idempotency_key = ?");
      find.bind(1, row->form_id).bind(2, key);
      int rc = find.step();
      if (rc == SQLITE_ROW) {
        *outcome = outcome_of_known_key(find.text(13), hash);
        if (*outcome == SubmitOutcome::replayed) read_response(find, *row);
        return Status::ok();
      }
      if (rc != SQLITE_DONE) return sqlite::status_of(rc, db);
    }
    auto stmt = db.prepare(
        "INSERT INTO responses (id, form_id, form_version, status, answers, metadata, checks, submitted_at,"
        " received_at, updated_at, revision, app_id, idempotency_key, request_hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    // The row, key and hash outlive the statement: bind without copying.
    stmt.bind_ref(1, row->id)
        .bind_ref(2, row->form_id)
        .bind(3, std::int64_t{row->form_version})
        .bind_ref(4, row->status)
        .bind_ref(5, row->answers)
        .bind_ref(6, row->metadata)
        .bind_ref(7, row->checks)
        .bind_ref(8, row->submitted_at)
        .bind_ref(9, row->received_at)
        .bind_ref(10, row->updated_at)
        .bind(11, std::int64_t{row->revision});
    if (row->app_id.empty())
      stmt.bind_null(12);
    else
      stmt.bind_ref(12, row->app_id);
    if (key.empty())
      stmt.bind_null(13);
    else
      stmt.bind_ref(13, key);
    if (key.empty())
      stmt.bind_null(14);
    else
      stmt.bind_ref(14, hash);
    Status s = sqlite::status_of(stmt.step(), db);
    if (!s.is_ok()) return s;
    row->seq = sqlite3_last_insert_rowid(db.handle());
    // Revision 1 is the row itself until a correction copies it to the history.
    return sqlite::insert_outbox_rows(db, jobs);
  };
  Status status = co_await write(std::move(work));
  if (!status.is_ok()) co_return status;
  co_return *outcome;
}

Result<std::optional<std::pair<ResponseRow, std::string>>> SqliteStore::find_by_idempotency_key(
    std::string_view form_id, std::string_view key) {
  auto db = reader();
  static const std::string sql =
      fmt::format("SELECT {}, request_hash FROM responses WHERE form_id = ? AND idempotency_key = ?", response_columns);
  auto stmt = db->prepare(sql.c_str());
  stmt.bind(1, form_id).bind(2, key);
  int rc = stmt.step();
  using Found = std::optional<std::pair<ResponseRow, std::string>>;
  if (rc == SQLITE_DONE) return Found();
  if (rc != SQLITE_ROW) return sqlite::status_of(rc, *db);
  ResponseRow r;
  read_response(stmt, r);
  return Found(std::make_pair(std::move(r), stmt.text(13)));
}

Result<ResponseRow> SqliteStore::get_response(std::string_view form_id, std::string_view id) {
  auto db = reader();
  static const std::string sql = fmt::format("SELECT {} FROM responses WHERE id = ? AND form_id = ?", response_columns);
  auto stmt = db->prepare(sql.c_str());
  stmt.bind(1, id).bind(2, form_id);
  int rc = stmt.step();
  if (rc == SQLITE_ROW) {
    ResponseRow r;
    read_response(stmt, r);
    return r;
  }
  if (rc == SQLITE_DONE) return Status::not_found("response");
  return sqlite::status_of(rc, *db);
}

Result<ResponseRow> SqliteStore::get_response_revision(std::string_view id, int revision) {
  auto db = reader();
  // One read transaction: a correction cannot land between the two reads.
  sqlite::ReadTransaction snapshot(*db);
  static const std::string sql = fmt::format("SELECT {} FROM responses WHERE id = ?", response_columns);
  auto stmt = db->prepare(sql.c_str());
  stmt.bind(1, id);
  int rc = stmt.step();
  if (rc == SQLITE_DONE) return Status::not_found("response");
  if (rc != SQLITE_ROW) return sqlite::status_of(rc, *db);
  ResponseRow r;
  read_response(stmt, r);
  if (r.revision == revision) return r;
  // An earlier revision: what changes between revisions is in the history
  // (revision 1's updated_at is its received_at, as the response had it).
  auto old = db->prepare(
      "SELECT form_version, status, answers, checks, created_at FROM response_revisions"
      " WHERE response_id = ? AND revision = ?");
  old.bind(1, id).bind(2, std::int64_t{revision});
  rc = old.step();
  if (rc == SQLITE_DONE) return Status::not_found("response revision");
  if (rc != SQLITE_ROW) return sqlite::status_of(rc, *db);
  r.form_version = static_cast<int>(old.integer(0));
  r.status = old.text(1);
  r.answers = old.text(2);
  r.checks = old.text(3);
  r.updated_at = old.text(4);
  r.revision = revision;
  return r;
}

Result<std::vector<ResponseRow>> SqliteStore::list_responses(std::string_view form_id, const ResponseFilter& f) {
  auto db = reader();
  static const std::string sql = fmt::format(
      "SELECT {} FROM responses WHERE form_id = ?1 AND seq > ?2"
      " AND (?3 = '' OR status = ?3) AND (?4 = '' OR received_at >= ?4) AND (?5 = '' OR received_at < ?5)"
      " ORDER BY seq LIMIT ?6",
      response_columns);
  auto stmt = db->prepare(sql.c_str());
  stmt.bind(1, form_id).bind(2, f.after_seq).bind(3, f.status).bind(4, f.since).bind(5, f.until);
  stmt.bind(6, static_cast<std::int64_t>(f.limit));
  return all_responses(stmt, *db);
}

Result<std::vector<FormRow>> SqliteStore::list_form_versions(std::string_view form_id, int after_version,
                                                             std::size_t limit) {
  auto db = reader();
  auto stmt = db->prepare(
      "SELECT form_id, version, definition, created_at FROM form_versions"
      " WHERE form_id = ? AND version > ? ORDER BY version LIMIT ?");
  stmt.bind(1, form_id).bind(2, std::int64_t{after_version}).bind(3, static_cast<std::int64_t>(limit));
  std::vector<FormRow> out;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) {
    FormRow& f = out.emplace_back();
    f.id = stmt.text(0);
    f.version = static_cast<int>(stmt.integer(1));
    f.definition = stmt.text(2);
    f.created_at = f.updated_at = stmt.text(3);
  }
  if (rc != SQLITE_DONE) return sqlite::status_of(rc, *db);
  return out;
}

Result<std::vector<ResponseRow>> SqliteStore::responses_updated_since(const ResponsesSince& q) {
  auto db = reader();
  // responses_by_update serves the order; the other filters are checked on its rows.
  static const std::string sql = fmt::format(
      "SELECT {} FROM responses WHERE updated_at >= ?1 AND (?2 = '' OR form_id = ?2) AND (?3 = '' OR app_id = ?3)"
      " ORDER BY updated_at, seq LIMIT ?4",
      response_columns);
  auto stmt = db->prepare(sql.c_str());
  stmt.bind(1, q.since).bind(2, q.form_id).bind(3, q.app_id).bind(4, static_cast<std::int64_t>(q.limit));
  return all_responses(stmt, *db);
}

asio::awaitable<Status> SqliteStore::revise_response(std::shared_ptr<ResponseRow> row, std::vector<JobRow> jobs) {
  sqlite::GroupWriter::Work work = [row, jobs = std::move(jobs)](Connection& db) mutable {
    static const std::string current_sql =
        fmt::format("SELECT {} FROM responses WHERE id = ? AND form_id = ?", response_columns);
    auto current = db.prepare(current_sql.c_str());
    current.bind(1, row->id).bind(2, row->form_id);
    int rc = current.step();
    if (rc == SQLITE_DONE) return Status::not_found("response");
    if (rc != SQLITE_ROW) return sqlite::status_of(rc, db);
    ResponseRow before;
    read_response(current, before);
    if (before.revision == 1) {
      // The first correction moves the original into the history.
      before.updated_at = before.received_at;
      Status s = insert_revision(db, before);
      if (!s.is_ok()) return s;
    }
    row->revision = before.revision + 1;
    auto update = db.prepare(
        "UPDATE responses SET form_version = ?, status = ?, answers = ?, checks = ?, updated_at = ?, revision = ?"
        " WHERE id = ?");
    update.bind(1, std::int64_t{row->form_version})
        .bind(2, row->status)
        .bind(3, row->answers)
        .bind(4, row->checks)
        .bind(5, row->updated_at)
        .bind(6, std::int64_t{row->revision})
        .bind(7, row->id);
    Status s = sqlite::status_of(update.step(), db);
    if (!s.is_ok()) return s;
    s = insert_revision(db, *row);
    if (!s.is_ok()) return s;
    static const std::string sql = fmt::format("SELECT {} FROM responses WHERE id = ?", response_columns);
    auto reread = db.prepare(sql.c_str());
    reread.bind(1, row->id);
    rc = reread.step();
    if (rc != SQLITE_ROW) return sqlite::status_of(rc, db);
    read_response(reread, *row);
    // Jobs that send a revision send this one, whatever their caller read.
    for (JobRow& job : jobs) {
      if (job.revision > 0) job.revision = row->revision;
    }
    return sqlite::insert_outbox_rows(db, jobs);
  };
  co_return co_await write(std::move(work));
}

Result<std::vector<RevisionRow>> SqliteStore::list_revisions(std::string_view response_id) {
  auto db = reader();
  // Read in one transaction so a correction cannot land between the two reads.
  sqlite::ReadTransaction snapshot(*db);
  auto stmt = db->prepare(
      "SELECT revision, form_version, status, answers, checks, created_at FROM response_revisions"
      " WHERE response_id = ? ORDER BY revision");
  stmt.bind(1, response_id);
  std::vector<RevisionRow> out;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) {
    RevisionRow r;
    r.revision = static_cast<int>(stmt.integer(0));
    r.form_version = static_cast<int>(stmt.integer(1));
    r.status = stmt.text(2);
    r.answers = stmt.text(3);
    r.checks = stmt.text(4);
    r.created_at = stmt.text(5);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return sqlite::status_of(rc, *db);
  if (out.empty()) {
    // Never corrected: the response itself is revision 1.
    static const std::string sql = fmt::format("SELECT {} FROM responses WHERE id = ?", response_columns);
    auto original = db->prepare(sql.c_str());
    original.bind(1, response_id);
    rc = original.step();
    if (rc == SQLITE_DONE) return Status::not_found("response");
    if (rc != SQLITE_ROW) return sqlite::status_of(rc, *db);
    ResponseRow r;
    read_response(original, r);
    out.push_back({1, r.form_version, r.status, r.answers, r.checks, r.received_at});
  }
  return out;
}

}  // namespace daisy
