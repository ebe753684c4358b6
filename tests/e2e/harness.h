#pragma once
// End-to-end harness: runs the real daisy binary on a free port with a fresh
// data directory and talks HTTP/1.1 to it over plain POSIX sockets.
//
// - DaisyProcess starts `daisy serve --listen 127.0.0.1:0 ...`, waits for the
//   "msg=listening address=..." log line, drains stdout/stderr in a background
//   thread, and can stop (SIGTERM), kill -9 and restart it on the same data dir.
// - Client is a tiny blocking HTTP/1.1 client with receive/send timeouts, plus
//   raw helpers (send bytes, read one response, read until close).
// - run_daisy runs a one-shot command (version, migrate, --help, ...).
//
// Timeouts only keep a test from hanging; no test asserts on speed.

#include <gtest/gtest.h>

#include <boost/json/value.hpp>

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace daisy_e2e {

using namespace std::chrono_literals;
using Headers = std::vector<std::pair<std::string, std::string>>;

// The admin token every server gets unless a test asks for a generated one.
inline constexpr std::string_view kAdminToken = "e2e-admin-token-0123456789abcdef";

bool iequals(std::string_view a, std::string_view b);

struct HttpResponse {
  int status = 0;  // 0: no response could be read (see error)
  std::string version;
  std::string reason;
  Headers headers;
  std::string body;
  std::string error;  // why reading failed, when status == 0

  bool has_header(std::string_view name) const;
  // The first header with this name (case-insensitive), or "".
  std::string header(std::string_view name) const;
  std::size_t header_count(std::string_view name) const;
  // The body parsed as JSON; a null value (and a test failure) when it is not JSON.
  boost::json::value json() const;
  // One line for assertion messages.
  std::string summary() const;
};

// Serialises a request. Adds Host, and Content-Length when there is a body (or
// the method is POST/PUT/PATCH) unless the headers already carry
// Content-Length or Transfer-Encoding.
std::string build_request(std::string_view method, std::string_view target, const Headers& headers = {},
                          std::string_view body = {});

Headers bearer(std::string_view token);
Headers with(Headers a, const Headers& b);
inline Headers json_content() { return {{"Content-Type", "application/json"}}; }

// Percent-encodes everything but unreserved characters, for path segments and query values.
std::string url_encode(std::string_view s);

class Client {
 public:
  struct CloseResult {
    std::string data;     // every byte received until the end
    bool closed = false;  // true: EOF or reset; false: gave up at the timeout
  };

  explicit Client(int port, std::chrono::milliseconds timeout = 10s);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  Client(Client&& other) noexcept;

  bool connected() const { return fd_ >= 0; }
  const std::string& error() const { return error_; }
  int fd() const { return fd_; }

  bool send_raw(std::string_view data);
  // Sends one byte at a time, sleeping between bytes.
  bool send_slowly(std::string_view data, std::chrono::milliseconds pause);
  void shutdown_write();
  void close();

  // Reads the next response (an interim 1xx reply is returned as it is). The
  // body is read by Content-Length, decoded when chunked, else read to the close.
  // head_request: the response to a HEAD carries no body.
  HttpResponse read_response(bool head_request = false);
  // Reads until the peer closes (or the timeout passes).
  CloseResult read_until_close(std::chrono::milliseconds timeout = 10s);
  // True when the peer has closed the connection (EOF or reset) within timeout;
  // any bytes received meanwhile are discarded.
  bool wait_closed(std::chrono::milliseconds timeout = 10s);

  // Sends a request and reads its final response (skipping 1xx).
  HttpResponse request(std::string_view method, std::string_view target, const Headers& headers = {},
                       std::string_view body = {});

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
  std::string error_;
};

struct ExitStatus {
  bool exited = false;  // normal exit (code is valid)
  int code = -1;
  int signal = 0;  // set when killed by a signal
  bool timed_out = false;
  std::string describe() const;
};

// A parsed copy of a process's output and status, for one-shot commands.
struct RunResult {
  ExitStatus status;
  std::string out;
  std::string err;
};

// Resident memory of a process, from /proc (0 when it cannot be read).
std::size_t resident_bytes(pid_t pid);

// The server binary the tests run: DAISY_BINARY (the build's own), or the
// one named by the DAISY_TEST_BINARY environment variable (the e2e.release
// pass runs a few tests against the optimised, tcmalloc build).
std::string daisy_binary();

// Runs daisy_binary() with these arguments and waits (at most timeout) for it.
RunResult run_daisy(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 60s);
// Runs any program (argv[0] is its path: PATH is not searched) the same way.
RunResult run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 60s);

class DaisyProcess {
 public:
  struct Options {
    std::vector<std::string> args;  // extra arguments (a --listen here replaces 127.0.0.1:0)
    bool admin_token = true;        // pass --admin-token kAdminToken
  };

  DaisyProcess();
  explicit DaisyProcess(Options options);
  ~DaisyProcess();
  DaisyProcess(const DaisyProcess&) = delete;
  DaisyProcess& operator=(const DaisyProcess&) = delete;

  // Starts the server (first start or restart on the same data dir) and waits
  // for its listening line. On failure returns false and sets start_error().
  bool start();
  bool start(Options options);  // restart with other options, same data dir
  const std::string& start_error() const { return start_error_; }

  // Sends sig and waits for the exit.
  ExitStatus stop(int sig = SIGTERM, std::chrono::milliseconds timeout = 60s);
  ExitStatus kill9();
  bool running();  // reaps the child if it has exited
  pid_t pid() const { return pid_; }
  void signal(int sig);
  // Waits for the child to exit by itself.
  ExitStatus wait_exit(std::chrono::milliseconds timeout);

  int port() const { return port_; }
  // The gRPC interface's port (the harness passes --grpc-listen 127.0.0.1:0
  // unless the test gives its own); 0 when it is off.
  int grpc_port() const { return grpc_port_; }
  const std::string& data_dir() const { return data_dir_; }
  // The PostgreSQL database it was given when the suite runs against
  // PostgreSQL ("" on SQLite).
  const std::string& database() const { return database_; }
  // The arguments that name its store (--data-dir, and --db on PostgreSQL),
  // for one-shot commands such as migrate; creates the database if needed.
  std::vector<std::string> store_args();
  std::string admin_token() const { return std::string(kAdminToken); }
  Headers admin() const { return bearer(kAdminToken); }

  // What the current (or last) run wrote so far.
  std::string err_text() const;
  std::string out_text() const;
  // Waits until stderr contains needle (logs are flushed every 250 ms).
  bool wait_for_err(std::string_view needle, std::chrono::milliseconds timeout = 10s) const;
  bool wait_for_out(std::string_view needle, std::chrono::milliseconds timeout = 10s) const;
  // The sanitizer report in stderr, or "" when there is none.
  std::string sanitizer_report() const;
  std::string err_tail(std::size_t bytes = 4000) const;

  // A request on a fresh connection.
  HttpResponse request(std::string_view method, std::string_view target, const Headers& headers = {},
                       std::string_view body = {}) const;
  HttpResponse get(std::string_view target, const Headers& headers = {}) const {
    return request("GET", target, headers);
  }
  // POST /v1/apps as admin; returns the response.
  HttpResponse create_app(std::string_view name) const;
  Client connect() const { return Client(port_); }

 private:
  void drain();
  void join_drain();
  // On PostgreSQL: the server's database, created at the first call. False
  // (with start_error_ set) when it cannot be.
  bool ensure_database();
  bool wait_for(const std::string& buffer_name, std::string_view needle, std::chrono::milliseconds timeout) const;
  ExitStatus reap(std::chrono::milliseconds timeout);

  Options options_;
  std::string data_dir_;
  std::string database_;
  pid_t pid_ = -1;
  int port_ = 0;
  int grpc_port_ = 0;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::thread drainer_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::string out_;
  std::string err_;
  bool drained_ = true;
  std::optional<ExitStatus> exit_;
  std::string start_error_;
};

// Value of one Prometheus sample line "name{labels} value" (series is the
// part before the value, exactly as rendered), or nullopt when absent.
std::optional<double> metric_value(const std::string& metrics_text, std::string_view series);

// Polls until pred() is true or timeout; returns the last pred() result.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s);

bool is_hex32(std::string_view s);
bool is_uuid_v7(std::string_view s);
bool is_app_token(std::string_view s);

// Checks that a response is an RFC 9457 problem of this status and slug.
::testing::AssertionResult IsProblem(const HttpResponse& r, int status, std::string_view slug);

// A test fixture that shares one server across the tests of a suite.
// Derived::options() gives its options. The server is (re)started when a test
// begins and it is not running, so one crash does not cascade; each test ends
// by checking that the server is alive and printed no sanitizer report.
template <class Derived>
class SharedServer : public ::testing::Test {
 protected:
  static DaisyProcess& server() { return *server_; }

  static void SetUpTestSuite() {
    server_ = std::make_unique<DaisyProcess>(Derived::options());
    server_->start();
  }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    ASSERT_TRUE(server_);
    if (!server_->running() || !server_->sanitizer_report().empty()) {
      server_ = std::make_unique<DaisyProcess>(Derived::options());
      ASSERT_TRUE(server_->start()) << server_->start_error();
    }
  }

  void TearDown() override {
    if (server_->port() == 0) return;  // it never started: SetUp has failed the test already
    EXPECT_TRUE(server_->running()) << "the server died during this test:\n" << server_->err_tail();
    std::string report = server_->sanitizer_report();
    EXPECT_TRUE(report.empty()) << "the server reported a memory or UB error:\n" << report.substr(0, 3000);
    if (HasFailure()) std::fprintf(stderr, "--- server stderr (tail) ---\n%s\n", server_->err_tail().c_str());
  }

  static inline std::unique_ptr<DaisyProcess> server_;
};

// A fixture for tests that start (and restart, kill...) servers of their own:
// each is checked for sanitizer reports when the test ends.
// Begins an admin's POST of a JSON body of body_size bytes to target on c,
// with Expect: 100-continue, and holds the body back: true once the server
// has answered 100 Continue, which proves it is reading this request's body.
// A request in progress (it keeps a stopping server in its grace); send the
// body on c to finish it.
bool begin_held_request(Client& c, std::string_view target, std::size_t body_size);

class OwnedServers : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const auto& d : servers_) {
      std::string report = d->sanitizer_report();
      EXPECT_TRUE(report.empty()) << report.substr(0, 3000);
      if (HasFailure()) std::fprintf(stderr, "--- server stderr (tail) ---\n%s\n", d->err_tail().c_str());
    }
  }
  DaisyProcess& make(DaisyProcess::Options options = {}) {
    servers_.push_back(std::make_unique<DaisyProcess>(std::move(options)));
    return *servers_.back();
  }
  std::vector<std::unique_ptr<DaisyProcess>> servers_;
};

}  // namespace daisy_e2e
