#pragma once
// PostgreSQL for end-to-end tests, from Debian's postgresql package through
// tests/postgres_server.sh (initdb and pg_ctl in a temporary directory, on a
// free port).
//
// - The whole suite runs a second time against PostgreSQL: ctest's fixture
//   starts one server for the run and sets DAISY_TEST_POSTGRES_DIR; every
//   DaisyProcess then gets a fresh database of its own (see harness.cpp).
// - PostgresServer starts a server of a test's own, which it can stop (a
//   crash) and start again on the same port.

#include <optional>
#include <string>

namespace daisy_e2e {

// The fixture server's base URI (postgres://daisy@127.0.0.1:<port>/) when the
// suite runs against PostgreSQL; nullopt when it runs against SQLite.
std::optional<std::string> suite_postgres();
inline bool on_postgres() { return suite_postgres().has_value(); }

// Creates an empty database on the server at base_uri; returns its URI, or ""
// with error set.
std::string create_database(const std::string& base_uri, std::string& error);
// Runs statements that return no rows; false with error set when they fail.
bool exec_sql(const std::string& uri, const std::string& sql, std::string& error);
// Drops it (closing whatever is still connected).
void drop_database(const std::string& database_uri);

class PostgresServer {
 public:
  PostgresServer();  // starts it; ok() tells whether it did
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  bool ok() const { return !uri_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& uri() const { return uri_; }  // base URI, ends with '/'
  bool stop();                                     // at once, as a crash would (pg_ctl -m immediate)
  bool restart();                                  // on the same port, after stop()

 private:
  std::string dir_, uri_, error_;
};

}  // namespace daisy_e2e
