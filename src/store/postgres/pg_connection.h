#pragma once
// A thin RAII layer over one libpq connection. Statements are prepared once
// per connection (cached by their SQL text) and run with text parameters, so
// values never enter the SQL. A Connection is used by one thread at a time.

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/status.h"

namespace daisy::pg {

// A SQL NULL parameter.
struct Null {};
inline constexpr Null null{};

// One parameter as text (PostgreSQL casts it to the column's type).
// PostgreSQL text must be UTF-8 without a NUL byte (and libpq would cut a
// parameter at one): the string constructors store each NUL and each byte
// that is not well-formed UTF-8 as U+FFFD (as sanitize_utf8 does), so any
// text parameter is safe to send. SQLite keeps such bytes as they came.
struct Param {
  Param(Null) : is_null(true) {}                      // NOLINT: implicit by design
  Param(std::string_view v) : text(storable(v)) {}    // NOLINT
  Param(const std::string& v) : text(storable(v)) {}  // NOLINT
  Param(const char* v) : text(v) {}                   // NOLINT: a C string ends at its first NUL
  Param(std::int64_t v) : text(std::to_string(v)) {}  // NOLINT
  Param(int v) : text(std::to_string(v)) {}           // NOLINT
  Param(std::size_t v) : text(std::to_string(v)) {}   // NOLINT
  Param(bool v) : text(v ? "true" : "false") {}       // NOLINT
  std::string text;
  bool is_null = false;

 private:
  friend class ArrayLiteral;
  struct Verbatim {};
  // Takes text that is already storable, without a copy or a scan.
  Param(Verbatim, std::string&& v) : text(std::move(v)) {}
  // v with each NUL and ill-formed byte as U+FFFD; a plain copy when it has none.
  static std::string storable(std::string_view v);
};
using Params = std::vector<Param>;

// The text of a PostgreSQL array literal, built element by element: passed
// as one parameter and expanded with unnest($n::text[]) (or ::bigint[],
// ::boolean[]), it lets one statement with a fixed text write any number of
// rows. This is the one builder of array literals in the store.
class ArrayLiteral {
 public:
  ArrayLiteral() = default;
  // Reserves room for `bytes` of text (the braces aside).
  explicit ArrayLiteral(std::size_t bytes) { text_.reserve(bytes + 2); }

  // Every text element is quoted (so none reads as NULL or splits at a comma
  // or brace), its double quotes and backslashes escaped, each NUL and
  // ill-formed byte stored as U+FFFD (see Param).
  ArrayLiteral& add(std::string_view element);
  // A string literal would otherwise convert to bool, not to string_view.
  ArrayLiteral& add(const char* element) { return add(std::string_view(element)); }
  ArrayLiteral& add(std::int64_t element);
  ArrayLiteral& add(bool element);  // t or f

  // The text so far, in bytes (for cutting rows into chunks).
  std::size_t bytes() const { return text_.size(); }
  // The elements added so far.
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Moves the finished literal ("{}" when empty) into a Param without
  // copying it, and leaves this builder empty, ready for the next one.
  Param take();

 private:
  void separate();
  std::string text_;  // "{" and the elements, without the closing brace
  std::size_t size_ = 0;
};

// The outcome of one statement: its rows, or the Status of its failure.
class Rows {
 public:
  Rows() = default;
  Rows(PGresult* result, Status status) : result_(result, &PQclear), status_(std::move(status)) {}

  bool ok() const { return status_.is_ok(); }
  const Status& status() const { return status_; }
  // The SQLSTATE of a failure ("" when it succeeded or the connection failed).
  std::string sqlstate() const;

  int size() const { return result_ ? PQntuples(result_.get()) : 0; }
  bool empty() const { return size() == 0; }
  std::string text(int row, int col) const;
  std::string_view view(int row, int col) const;
  std::int64_t integer(int row, int col) const;
  bool boolean(int row, int col) const { return view(row, col) == "t"; }
  bool is_null(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }
  // Rows changed by an INSERT, UPDATE or DELETE.
  std::int64_t affected() const;

 private:
  std::shared_ptr<PGresult> result_;
  Status status_;
};

// Every row of a statement's result as row_of(rows, i), or its failure.
template <class RowOf>
auto all_rows(const Rows& rows, RowOf&& row_of) -> Result<std::vector<decltype(row_of(rows, 0))>> {
  if (!rows.ok()) return rows.status();
  std::vector<decltype(row_of(rows, 0))> out;
  out.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) out.push_back(row_of(rows, i));
  return out;
}

// The first row as row_of(rows, 0): not_found(what) when there is none, the
// statement's failure when it failed.
template <class RowOf>
auto first_row(const Rows& rows, RowOf&& row_of, const char* what) -> Result<decltype(row_of(rows, 0))> {
  if (!rows.ok()) return rows.status();
  if (rows.empty()) return Status::not_found(what);
  return row_of(rows, 0);
}

class Connection {
 public:
  // Connects; throws std::runtime_error (with libpq's message) when it cannot.
  explicit Connection(const std::string& conninfo);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs a statement with parameters, prepared on first use and cached by
  // its text (so the set of distinct texts must stay small).
  Rows run(const std::string& sql, const Params& params = {});
  // Each argument becomes one Param; an rvalue Param (ArrayLiteral::take())
  // is moved in, not copied.
  template <class... A>
  Rows query(const std::string& sql, A&&... args) {
    Params params;
    params.reserve(sizeof...(A));
    (params.emplace_back(std::forward<A>(args)), ...);
    return run(sql, params);
  }
  // Runs one or more statements without parameters (simple protocol: for
  // transaction control and migrations).
  Rows exec(const std::string& sql);

  // False once the server has gone away: the connection must be replaced.
  bool broken() const { return PQstatus(conn_) != CONNECTION_OK; }
  // The SQLSTATE of the last statement that failed on this connection.
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  std::string last_error() const;
  PGconn* handle() { return conn_; }

 private:
  Rows result_of(PGresult* result);
  PGconn* conn_ = nullptr;
  std::string last_sqlstate_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
};

// The Status of a failed statement, from its SQLSTATE: unique and other
// constraint violations are conflicts; a cancelled statement (its timeout)
// is too costly; a lost connection, serialization failures and resource
// shortages are unavailable (retry later).
Status status_of(std::string_view sqlstate, std::string_view message, bool connection_broken);

// text with the connection string's password, wherever it appears, as ***
// (libpq's messages may quote the connection string).
std::string redact(std::string text, const std::string& conninfo);

// True for failures that a later retry of the same transaction may not meet
// (serialization failure, deadlock).
bool is_transient(std::string_view sqlstate);

}  // namespace daisy::pg
