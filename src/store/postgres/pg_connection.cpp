#include "store/postgres/pg_connection.h"

#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <stdexcept>

#include "util/utf8.h"

namespace daisy::pg {

std::string Rows::sqlstate() const {
  if (!result_) return {};
  const char* s = PQresultErrorField(result_.get(), PG_DIAG_SQLSTATE);
  return s ? s : "";
}

std::string_view Rows::view(int row, int col) const {
  return {PQgetvalue(result_.get(), row, col), static_cast<std::size_t>(PQgetlength(result_.get(), row, col))};
}

std::string Rows::text(int row, int col) const { return std::string(view(row, col)); }

std::int64_t Rows::integer(int row, int col) const {
  std::string_view v = view(row, col);
  std::int64_t out = 0;
  std::from_chars(v.data(), v.data() + v.size(), out);
  return out;
}

std::int64_t Rows::affected() const {
  if (!result_) return 0;
  const char* n = PQcmdTuples(result_.get());
  std::int64_t out = 0;
  if (n) std::from_chars(n, n + std::char_traits<char>::length(n), out);
  return out;
}

Connection::Connection(const std::string& conninfo) {
  // Defaults that keep a connection to a vanished server from blocking a
  // thread for minutes (connecting) or hours (a dead TCP peer); the
  // connection string's own values come after, so they win.
  static const char* const keys[] = {"connect_timeout",  "keepalives",       "keepalives_idle", "keepalives_interval",
                                     "keepalives_count", "tcp_user_timeout", "dbname",          nullptr};
  const char* const values[] = {"5", "1", "10", "5", "3", "30000", conninfo.c_str(), nullptr};
  conn_ = PQconnectdbParams(keys, values, 1);
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string error = redact(last_error(), conninfo);
    PQfinish(conn_);
    conn_ = nullptr;
    throw std::runtime_error("cannot connect to PostgreSQL: " + error);
  }
  // Notices (for example "relation already exists, skipping") are not errors.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
}

Connection::~Connection() {
  if (conn_) PQfinish(conn_);
}

std::string Connection::last_error() const {
  if (!conn_) return "no connection";
  std::string m = PQerrorMessage(conn_);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

Rows Connection::result_of(PGresult* result) {
  ExecStatusType st = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
    return Rows(result, Status::ok());
  }
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state ? state : "";
  const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string message = primary ? primary : last_error();
  if (!result) result = PQmakeEmptyPGresult(conn_, PGRES_FATAL_ERROR);
  return Rows(result, status_of(state ? state : "", message, broken()));
}

Rows Connection::run(const std::string& sql, const Params& params) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = fmt::format("s{}", prepared_.size());
    Rows prepared = result_of(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr));
    if (!prepared.ok()) return prepared;
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  std::vector<const char*> values(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    values[i] = params[i].is_null ? nullptr : params[i].text.c_str();
  }
  return result_of(
      PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(params.size()), values.data(), nullptr, nullptr, 0));
}

Rows Connection::exec(const std::string& sql) { return result_of(PQexec(conn_, sql.c_str())); }

std::string Param::storable(std::string_view v) {
  if (is_utf8_without_nul(v)) return std::string(v);
  return to_utf8_without_nul(v);
}

void ArrayLiteral::separate() {
  text_ += size_ == 0 ? '{' : ',';
  ++size_;
}

ArrayLiteral& ArrayLiteral::add(std::string_view element) {
  separate();
  std::string converted;
  if (!is_utf8_without_nul(element)) {
    converted = to_utf8_without_nul(element);
    element = converted;
  }
  text_ += '"';
  // Appends the runs between special bytes whole.
  std::size_t from = 0;
  for (std::size_t i = 0; i < element.size(); ++i) {
    char c = element[i];
    if (c != '"' && c != '\\') continue;
    text_.append(element.substr(from, i - from));
    text_ += '\\';
    text_ += c;
    from = i + 1;
  }
  text_.append(element.substr(from));
  text_ += '"';
  return *this;
}

ArrayLiteral& ArrayLiteral::add(std::int64_t element) {
  separate();
  char digits[24];
  text_.append(digits, std::to_chars(digits, digits + sizeof digits, element).ptr);
  return *this;
}

ArrayLiteral& ArrayLiteral::add(bool element) {
  separate();
  text_ += element ? 't' : 'f';
  return *this;
}

Param ArrayLiteral::take() {
  if (size_ == 0) text_ += '{';
  text_ += '}';
  Param p(Param::Verbatim{}, std::move(text_));
  text_.clear();  // a moved-from string is valid but unspecified
  size_ = 0;
  return p;
}

std::string redact(std::string text, const std::string& conninfo) {
  std::vector<std::string> secrets;
  char* error = nullptr;
  if (PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error)) {
    for (PQconninfoOption* o = options; o->keyword; ++o) {
      if (std::string_view(o->keyword) == "password" && o->val && *o->val) secrets.emplace_back(o->val);
    }
    PQconninfoFree(options);
  }
  if (error) PQfreemem(error);
  // A URI's password as written (percent-encoded, or malformed so that the
  // parse failed): between the user's ':' and the '@'.
  if (auto scheme = conninfo.find("://"); scheme != std::string::npos) {
    auto at = conninfo.find('@', scheme + 3);
    auto colon = conninfo.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon + 1 < at) {
      secrets.push_back(conninfo.substr(colon + 1, at - colon - 1));
    }
  }
  for (const std::string& secret : secrets) {
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
      text.replace(at, secret.size(), "***");
    }
  }
  return text;
}

bool is_transient(std::string_view sqlstate) { return sqlstate == "40001" || sqlstate == "40P01"; }

Status status_of(std::string_view sqlstate, std::string_view message, bool connection_broken) {
  bool server_gone = sqlstate.substr(0, 2) == "08" || (sqlstate.substr(0, 2) == "57" && sqlstate != "57014");
  if (connection_broken || server_gone) {
    return Status::unavailable(fmt::format("the database is unreachable: {}", message));
  }
  if (sqlstate == "57014") {
    return Status::too_costly(
        "The query ran past its time budget. Narrow it: add since/until, session_id or category.");
  }
  // The client sees a plain reason; PostgreSQL's text names tables and columns.
  if (sqlstate.substr(0, 2) == "23") return Status::conflict("the write conflicts with data already stored");
  // 55P03: lock_timeout (another node holds what this write waits for).
  if (is_transient(sqlstate) || sqlstate.substr(0, 2) == "53" || sqlstate == "55P03") {
    return Status::unavailable(fmt::format("the database is busy: {}", message));
  }
  return Status::internal(fmt::format("database error {}: {}", sqlstate, message));
}

}  // namespace daisy::pg
