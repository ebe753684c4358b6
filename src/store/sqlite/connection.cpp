#include "store/sqlite/connection.h"

#include <stdexcept>

namespace daisy::sqlite {

Statement& Statement::bind(int i, std::string_view text) {
  sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind_ref(int i, std::string_view text) {
  sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  return *this;
}

Statement& Statement::bind_blob(int i, std::string_view bytes) {
  sqlite3_bind_blob(stmt_, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind(int i, std::int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}

Statement& Statement::bind_null(int i) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}

std::string Statement::text(int col) const {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (!p) return {};
  return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::string Statement::blob(int col) const {
  auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
  if (!p) return {};
  return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
}

Connection::Connection(const std::string& path, Mode mode) {
  // Readers open read-write too (WAL readers need the shared-memory index) and
  // are then fenced with query_only.
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_READWRITE | (mode == Mode::read_write ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open SQLite database " + path + ": " + message);
  }
  sqlite3_busy_timeout(db_, 5000);
  sqlite3_extended_result_codes(db_, 1);
  if (mode == Mode::read_only) exec("PRAGMA query_only=ON");
}

Connection::~Connection() {
  for (auto& [_, stmt] : cache_) sqlite3_finalize(stmt);
  for (auto& [_, stmt] : text_cache_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

void Connection::set_deadline(std::chrono::steady_clock::time_point deadline) {
  deadline_ = deadline;
  // Checked every 10,000 virtual-machine steps: well under a millisecond.
  sqlite3_progress_handler(
      db_, 10'000,
      [](void* self) -> int {
        return std::chrono::steady_clock::now() > static_cast<Connection*>(self)->deadline_ ? 1 : 0;
      },
      this);
}

void Connection::clear_deadline() { sqlite3_progress_handler(db_, 0, nullptr, nullptr); }

int Connection::exec(const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); }

int Connection::run(const char* sql) {
  Statement stmt = prepare(sql);
  int rc = stmt.step();
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

namespace {

sqlite3_stmt* prepare_persistent(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string("SQL prepare failed: ") + sqlite3_errmsg(db) + " in: " + sql);
  }
  return stmt;
}

}  // namespace

Statement Connection::prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return Statement(it->second);
  sqlite3_stmt* stmt = prepare_persistent(db_, sql);
  cache_.emplace(sql, stmt);
  return Statement(stmt);
}

Statement Connection::prepare_text(const std::string& sql) {
  auto it = text_cache_.find(sql);
  if (it != text_cache_.end()) return Statement(it->second);
  sqlite3_stmt* stmt = prepare_persistent(db_, sql.c_str());
  text_cache_.emplace(sql, stmt);
  return Statement(stmt);
}

ReadTransaction::ReadTransaction(Connection& db) : db_(db) { db_.run("BEGIN"); }

ReadTransaction::~ReadTransaction() { db_.run("COMMIT"); }

}  // namespace daisy::sqlite
