#include "postgres_server.h"

#include <libpq-fe.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace daisy_e2e {
namespace {

std::string script() { return std::string(DAISY_SOURCE_DIR) + "/tests/postgres_server.sh"; }

// Runs the script; its standard output, or nullopt when it failed.
std::optional<std::string> run_script(const std::string& args) {
  std::string command = script() + " " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return std::nullopt;
  std::string out;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  int rc = ::pclose(pipe);
  if (rc != 0) return std::nullopt;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

bool exec_sql(const std::string& uri, const std::string& sql, std::string& error) {
  PGconn* conn = PQconnectdb(uri.c_str());
  bool ok = PQstatus(conn) == CONNECTION_OK;
  if (ok) {
    PGresult* r = PQexec(conn, sql.c_str());
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) error = PQresultErrorMessage(r);
    PQclear(r);
  } else {
    error = PQerrorMessage(conn);
  }
  PQfinish(conn);
  return ok;
}

std::optional<std::string> suite_postgres() {
  static const std::optional<std::string> uri = []() -> std::optional<std::string> {
    const char* dir = std::getenv("DAISY_TEST_POSTGRES_DIR");
    if (!dir || !*dir) return std::nullopt;
    std::ifstream in(std::string(dir) + "/uri");
    std::string line;
    std::getline(in, line);
    // The fixture did not start: the tests fail on the empty URI, loudly.
    return line;
  }();
  return uri;
}

std::string create_database(const std::string& base_uri, std::string& error) {
  if (base_uri.empty()) {
    error = "no PostgreSQL server (did the pg.start fixture fail?)";
    return {};
  }
  static thread_local std::mt19937_64 random{std::random_device{}()};
  char name[32];
  std::snprintf(name, sizeof name, "t_%016llx", static_cast<unsigned long long>(random()));
  if (!exec_sql(base_uri + "postgres", std::string("CREATE DATABASE ") + name, error)) return {};
  return base_uri + name;
}

void drop_database(const std::string& database_uri) {
  auto slash = database_uri.rfind('/');
  if (slash == std::string::npos) return;
  std::string error;
  exec_sql(database_uri.substr(0, slash + 1) + "postgres",
           "DROP DATABASE IF EXISTS " + database_uri.substr(slash + 1) + " WITH (FORCE)", error);
}

PostgresServer::PostgresServer() {
  char tmpl[] = "/tmp/daisy-pg-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    error_ = "mkdtemp failed";
    return;
  }
  dir_ = tmpl;
  auto out = run_script("start " + dir_ + " fast");
  if (!out) {
    error_ = "tests/postgres_server.sh start failed";
    return;
  }
  uri_ = out->substr(out->rfind('\n') == std::string::npos ? 0 : out->rfind('\n') + 1);
}

PostgresServer::~PostgresServer() {
  if (!dir_.empty()) run_script("destroy " + dir_);
}

bool PostgresServer::stop() { return run_script("stop " + dir_).has_value(); }
bool PostgresServer::restart() { return run_script("restart " + dir_).has_value(); }

}  // namespace daisy_e2e
