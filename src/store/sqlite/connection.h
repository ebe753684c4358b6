#pragma once
// A thin RAII layer over one sqlite3 connection and its cached prepared
// statements. A Connection is used by one thread at a time.

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace daisy::sqlite {

class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, std::string_view text);  // copies the text
  // Binds without copying: text must stay alive and unchanged until the
  // statement is reset (when this Statement dies). For hot paths binding
  // fields of a record that outlives the statement.
  Statement& bind_ref(int i, std::string_view text);
  Statement& bind_blob(int i, std::string_view bytes);
  Statement& bind(int i, std::int64_t v);
  Statement& bind_null(int i);

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(stmt_); }
  // Makes the statement ready to run again (with new bindings).
  void reset() { sqlite3_reset(stmt_); }

  std::string text(int col) const;
  std::string blob(int col) const;
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  sqlite3_stmt* stmt_;
};

class Connection;

// A read transaction for its scope: the reads inside it see one snapshot.
class ReadTransaction {
 public:
  explicit ReadTransaction(Connection& db);
  ~ReadTransaction();
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  Connection& db_;
};

class Connection {
 public:
  enum class Mode { read_write, read_only };
  // Throws std::runtime_error when the database cannot be opened.
  Connection(const std::string& path, Mode mode);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs statements without results; returns SQLITE_OK or the error code.
  int exec(const char* sql);
  // Runs one statement without results through the statement cache (for the
  // transaction-control statements run on every write).
  int run(const char* sql);
  // A cached prepared statement; reset when the returned Statement dies.
  Statement prepare(const char* sql);

  // The same for SQL assembled at run time (for example a query whose WHERE
  // clause depends on which filters were given); cached by text, so the set of
  // distinct texts must be small.
  Statement prepare_text(const std::string& sql);
  sqlite3* handle() { return db_; }

  // Statements run after this interrupt themselves (SQLITE_INTERRUPT) once the
  // deadline has passed, until clear_deadline(). For reads whose cost depends
  // on the data, so one broad query cannot hold an I/O thread for long.
  void set_deadline(std::chrono::steady_clock::time_point deadline);
  void clear_deadline();
  std::string last_error() const { return sqlite3_errmsg(db_); }

 private:
  sqlite3* db_ = nullptr;
  std::chrono::steady_clock::time_point deadline_;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;  // keyed by literal address
  std::unordered_map<std::string, sqlite3_stmt*> text_cache_;
};

}  // namespace daisy::sqlite
