#include "harness.h"

#include "postgres_server.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

extern char** environ;

namespace daisy_e2e {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

struct Spawned {
  pid_t pid = -1;
  int out = -1;
  int err = -1;
};

// posix_spawn with stdout/stderr on pipes and stdin on /dev/null. Every fd the
// parent keeps is close-on-exec, so concurrent spawns do not inherit them.
bool spawn(const std::vector<std::string>& args, Spawned& child, std::string& error) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    error = std::string("pipe2: ") + std::strerror(errno);
    return false;
  }
  if (::pipe2(err, O_CLOEXEC) != 0) {
    error = std::string("pipe2: ") + std::strerror(errno);
    ::close(out[0]);
    ::close(out[1]);
    return false;
  }
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    error = std::string("posix_spawn ") + args[0] + ": " + std::strerror(rc);
    ::close(out[0]);
    ::close(err[0]);
    return false;
  }
  child = {pid, out[0], err[0]};
  return true;
}

ExitStatus decode(int status) {
  ExitStatus s;
  if (WIFEXITED(status)) {
    s.exited = true;
    s.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    s.signal = WTERMSIG(status);
  }
  return s;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

// ---------------------------------------------------------------- responses

bool HttpResponse::has_header(std::string_view name) const { return header_count(name) > 0; }

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

std::size_t HttpResponse::header_count(std::string_view name) const {
  std::size_t n = 0;
  for (const auto& [k, v] : headers) n += iequals(k, name) ? 1 : 0;
  return n;
}

boost::json::value HttpResponse::json() const {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec) {
    ADD_FAILURE() << "response body is not JSON (" << ec.message() << "): " << summary();
    return nullptr;
  }
  return v;
}

std::string HttpResponse::summary() const {
  if (status == 0) return "no response: " + error;
  std::string s = std::to_string(status) + " " + reason + " " + body.substr(0, 600);
  return s;
}

std::string build_request(std::string_view method, std::string_view target, const Headers& headers,
                          std::string_view body) {
  std::string out;
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  bool host = false, length = false;
  for (const auto& [k, v] : headers) {
    host = host || iequals(k, "Host");
    length = length || iequals(k, "Content-Length") || iequals(k, "Transfer-Encoding");
  }
  if (!host) out += "Host: 127.0.0.1\r\n";
  for (const auto& [k, v] : headers) out.append(k).append(": ").append(v).append("\r\n");
  if (!length && (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH")) {
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  out += "\r\n";
  out.append(body);
  return out;
}

Headers bearer(std::string_view token) { return {{"Authorization", "Bearer " + std::string(token)}}; }

Headers with(Headers a, const Headers& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// ---------------------------------------------------------------- client

Client::Client(int port, std::chrono::milliseconds timeout) : timeout_(timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    error_ = std::string("socket: ") + std::strerror(errno);
    return;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{};
  tv.tv_sec = static_cast<long>(timeout.count() / 1000);
  tv.tv_usec = static_cast<long>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error_ = std::string("connect: ") + std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
  }
}

Client::Client(Client&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      timeout_(other.timeout_),
      buffer_(std::move(other.buffer_)),
      error_(std::move(other.error_)) {}

Client::~Client() { close(); }

void Client::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool Client::send_raw(std::string_view data) {
  if (fd_ < 0) return false;
  while (!data.empty()) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      error_ = std::string("send: ") + std::strerror(errno);
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool Client::send_slowly(std::string_view data, std::chrono::milliseconds pause) {
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (!send_raw(data.substr(i, 1))) return false;
    std::this_thread::sleep_for(pause);
  }
  return true;
}

void Client::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

bool Client::fill(Clock::time_point deadline) {
  if (fd_ < 0) {
    error_ = "not connected";
    return false;
  }
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) {
      error_ = "timed out waiting for data";
      return false;
    }
    char chunk[16 * 1024];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      error_ = "connection closed by the server";
      return false;
    }
    if (n < 0) {
      error_ = std::string("recv: ") + std::strerror(errno);
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
}

HttpResponse Client::read_response(bool head_request) {
  HttpResponse r;
  auto deadline = Clock::now() + timeout_;
  std::size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (buffer_.size() > (1u << 20)) {
      r.error = "response header larger than 1 MiB";
      return r;
    }
    if (!fill(deadline)) {
      r.error = error_ + (buffer_.empty() ? "" : " (partial: " + buffer_.substr(0, 200) + ")");
      return r;
    }
  }
  std::string head = buffer_.substr(0, end);
  buffer_.erase(0, end + 4);

  std::size_t line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  // "HTTP/1.1 200 OK"
  bool good = status_line.size() >= 12 && status_line.compare(0, 5, "HTTP/") == 0 && status_line[8] == ' ' &&
              std::isdigit(static_cast<unsigned char>(status_line[9])) &&
              std::isdigit(static_cast<unsigned char>(status_line[10])) &&
              std::isdigit(static_cast<unsigned char>(status_line[11])) &&
              (status_line.size() == 12 || status_line[12] == ' ');
  if (!good) {
    r.error = "bad status line: " + status_line.substr(0, 200);
    return r;
  }
  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    std::size_t eol = head.find("\r\n", pos);
    if (eol == std::string::npos) eol = head.size();
    std::string_view line(head.data() + pos, eol - pos);
    auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      r.error = "bad header line: " + std::string(line);
      return r;
    }
    r.headers.emplace_back(std::string(line.substr(0, colon)), trim(line.substr(colon + 1)));
    pos = eol + 2;
  }
  int status = std::stoi(status_line.substr(9, 3));
  r.version = status_line.substr(0, 8);
  r.reason = status_line.size() > 13 ? status_line.substr(13) : std::string();

  bool no_body = head_request || status / 100 == 1 || status == 204 || status == 304;
  if (!no_body) {
    if (r.has_header("Content-Length")) {
      std::size_t length = std::stoul(r.header("Content-Length"));
      while (buffer_.size() < length) {
        if (!fill(deadline)) {
          r.error = "body cut short: " + error_;
          return r;
        }
      }
      r.body = buffer_.substr(0, length);
      buffer_.erase(0, length);
    } else if (iequals(r.header("Transfer-Encoding"), "chunked")) {
      for (;;) {
        std::size_t eol;
        while ((eol = buffer_.find("\r\n")) == std::string::npos) {
          if (!fill(deadline)) {
            r.error = "chunked body cut short: " + error_;
            return r;
          }
        }
        std::string size_line = buffer_.substr(0, buffer_.find_first_of(";\r"));
        char* end = nullptr;
        unsigned long long size = std::strtoull(size_line.c_str(), &end, 16);
        if (size_line.empty() || end != size_line.c_str() + size_line.size()) {
          r.error = "bad chunk size line: " + size_line.substr(0, 40);
          return r;
        }
        if (size == 0) {  // last chunk; no trailers expected: the empty line ends it
          while (buffer_.size() < eol + 4) {
            if (!fill(deadline)) {
              r.error = "chunked body end cut short: " + error_;
              return r;
            }
          }
          if (buffer_.compare(eol + 2, 2, "\r\n") != 0) {
            r.error = "trailers after the last chunk are not supported by this client";
            return r;
          }
          buffer_.erase(0, eol + 4);
          break;
        }
        while (buffer_.size() < eol + 2 + size + 2) {
          if (!fill(deadline)) {
            r.error = "chunk cut short: " + error_;
            return r;
          }
        }
        r.body.append(buffer_, eol + 2, size);
        buffer_.erase(0, eol + 2 + size + 2);
      }
    } else if (r.has_header("Transfer-Encoding")) {
      r.error = "unsupported Transfer-Encoding: " + r.header("Transfer-Encoding");
      return r;
    } else {
      auto rest = read_until_close(timeout_);
      r.body = std::move(rest.data);
    }
  }
  r.status = status;
  return r;
}

Client::CloseResult Client::read_until_close(std::chrono::milliseconds timeout) {
  CloseResult result;
  result.data = std::move(buffer_);
  buffer_.clear();
  auto deadline = Clock::now() + timeout;
  if (fd_ < 0) {
    result.closed = true;
    return result;
  }
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) return result;  // timed out: still open
    char chunk[16 * 1024];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      result.closed = true;
      return result;
    }
    result.data.append(chunk, static_cast<std::size_t>(n));
  }
}

bool Client::wait_closed(std::chrono::milliseconds timeout) { return read_until_close(timeout).closed; }

HttpResponse Client::request(std::string_view method, std::string_view target, const Headers& headers,
                             std::string_view body) {
  if (!send_raw(build_request(method, target, headers, body))) {
    HttpResponse r;
    r.error = error_;
    return r;
  }
  for (;;) {
    HttpResponse r = read_response(method == "HEAD");
    if (r.status / 100 != 1) return r;
  }
}

// ---------------------------------------------------------------- processes

std::string ExitStatus::describe() const {
  if (timed_out) return "did not exit in time";
  if (exited) return "exited with code " + std::to_string(code);
  if (signal) return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "unknown status";
}

// Resident memory of a process, from /proc (0 when it cannot be read).
std::size_t resident_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return static_cast<std::size_t>(std::atoll(line.c_str() + 6)) * 1024;
  }
  return 0;
}

std::string daisy_binary() {
  const char* other = std::getenv("DAISY_TEST_BINARY");
  return other && *other ? std::string(other) : std::string(DAISY_BINARY);
}

RunResult run_daisy(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{daisy_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, timeout);
}

RunResult run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  RunResult result;
  Spawned child;
  std::string error;
  if (!spawn(argv, child, error)) {
    result.err = error;
    return result;
  }
  auto deadline = Clock::now() + timeout;
  bool out_open = true, err_open = true;
  while ((out_open || err_open) && Clock::now() < deadline) {
    pollfd fds[2] = {{out_open ? child.out : -1, POLLIN, 0}, {err_open ? child.err : -1, POLLIN, 0}};
    int rc = ::poll(fds, 2, remaining_ms(deadline));
    if (rc <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char chunk[4096];
      ssize_t n = ::read(fds[i].fd, chunk, sizeof chunk);
      if (n > 0) {
        (i == 0 ? result.out : result.err).append(chunk, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        (i == 0 ? out_open : err_open) = false;
      }
    }
  }
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(child.pid, &status, WNOHANG);
    if (r == child.pid) {
      result.status = decode(status);
      break;
    }
    if (Clock::now() >= deadline) {
      ::kill(child.pid, SIGKILL);
      ::waitpid(child.pid, &status, 0);
      result.status.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  ::close(child.out);
  ::close(child.err);
  return result;
}

DaisyProcess::DaisyProcess() : DaisyProcess(Options{}) {}

DaisyProcess::DaisyProcess(Options options) : options_(std::move(options)) {
  char tmpl[] = "/tmp/daisy-e2e-XXXXXX";
  if (::mkdtemp(tmpl) != nullptr) data_dir_ = tmpl;
}

DaisyProcess::~DaisyProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    reap(30s);
  }
  join_drain();
  if (!database_.empty()) drop_database(database_);
  if (!data_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
  }
}

bool DaisyProcess::ensure_database() {
  if (database_.empty()) database_ = create_database(*suite_postgres(), start_error_);
  return !database_.empty();
}

std::vector<std::string> DaisyProcess::store_args() {
  std::vector<std::string> args{"--data-dir", data_dir_};
  if (on_postgres() && ensure_database()) {
    args.push_back("--db");
    args.push_back(database_);
  }
  return args;
}

bool DaisyProcess::start(Options options) {
  options_ = std::move(options);
  return start();
}

bool DaisyProcess::start() {
  start_error_.clear();
  if (data_dir_.empty()) {
    start_error_ = "mkdtemp failed";
    return false;
  }
  if (running()) {
    start_error_ = "already running";
    return false;
  }
  join_drain();
  {
    std::lock_guard lock(mu_);
    out_.clear();
    err_.clear();
    exit_.reset();
    port_ = 0;
  }
  std::vector<std::string> argv{daisy_binary(), "serve", "--data-dir", data_dir_};
  bool own_listen = false, own_db = false, own_grpc = false;
  for (const auto& a : options_.args) {
    own_listen = own_listen || a == "--listen";
    own_db = own_db || a == "--db";
    own_grpc = own_grpc || a == "--grpc-listen";
  }
  // Against PostgreSQL, each server gets a database of its own, kept across
  // its restarts as its data dir is.
  if (!own_db && on_postgres()) {
    if (!ensure_database()) return false;
    argv.push_back("--db");
    argv.push_back(database_);
  }
  if (!own_listen) {
    argv.push_back("--listen");
    argv.push_back("127.0.0.1:0");
  }
  if (!own_grpc) {  // any free port: servers side by side never compete for 9090
    argv.push_back("--grpc-listen");
    argv.push_back("127.0.0.1:0");
  }
  if (options_.admin_token) {
    argv.push_back("--admin-token");
    argv.emplace_back(kAdminToken);
  }
  argv.insert(argv.end(), options_.args.begin(), options_.args.end());

  Spawned child;
  if (!spawn(argv, child, start_error_)) return false;
  pid_ = child.pid;
  out_fd_ = child.out;
  err_fd_ = child.err;
  {
    std::lock_guard lock(mu_);
    drained_ = false;
  }
  drainer_ = std::thread([this] { drain(); });

  // The listening line in either log format (--log-format logfmt or json).
  static constexpr std::string_view markers[] = {"msg=listening address=", R"("msg":"listening","address":")"};
  auto find_marker = [&]() -> std::pair<std::size_t, std::size_t> {
    for (std::string_view marker : markers) {
      auto at = err_.find(marker);
      if (at != std::string::npos && err_.find('\n', at) != std::string::npos) return {at, marker.size()};
    }
    return {std::string::npos, 0};
  };
  std::string line;
  {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 30s, [&] { return find_marker().first != std::string::npos || drained_; });
    auto [at, length] = find_marker();
    if (at != std::string::npos) line = err_.substr(at + length, err_.find('\n', at) - at - length);
    // The gRPC port, logged before the listening line (none when it is off).
    grpc_port_ = 0;
    for (std::string_view marker : {R"(msg="grpc listening" address=)", R"("msg":"grpc listening","address":")"}) {
      auto grpc_at = err_.find(marker);
      if (grpc_at == std::string::npos) continue;
      std::string address = err_.substr(grpc_at + marker.size(), err_.find('\n', grpc_at) - grpc_at - marker.size());
      address = address.substr(0, address.find_first_of(" \""));
      grpc_port_ = std::atoi(address.c_str() + address.rfind(':') + 1);
    }
  }
  std::string address = line.substr(0, line.find_first_of(" \""));
  auto colon = address.rfind(':');
  if (colon != std::string::npos) port_ = std::atoi(address.c_str() + colon + 1);
  if (port_ <= 0) {
    start_error_ = "the server did not report a listening address within 30 s; stderr:\n" + err_tail();
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      reap(30s);
    }
    return false;
  }
  return true;
}

void DaisyProcess::drain() {
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    pollfd fds[2] = {{out_open ? out_fd_ : -1, POLLIN, 0}, {err_open ? err_fd_ : -1, POLLIN, 0}};
    int rc = ::poll(fds, 2, 1000);
    if (rc <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char chunk[16 * 1024];
      ssize_t n = ::read(fds[i].fd, chunk, sizeof chunk);
      if (n > 0) {
        std::lock_guard lock(mu_);
        (i == 0 ? out_ : err_).append(chunk, static_cast<std::size_t>(n));
        cv_.notify_all();
      } else if (n == 0 || errno != EINTR) {
        (i == 0 ? out_open : err_open) = false;
      }
    }
  }
  std::lock_guard lock(mu_);
  drained_ = true;
  cv_.notify_all();
}

void DaisyProcess::join_drain() {
  if (drainer_.joinable()) drainer_.join();
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
  out_fd_ = err_fd_ = -1;
}

ExitStatus DaisyProcess::reap(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return exit_.value_or(ExitStatus{});
  auto deadline = Clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (Clock::now() >= deadline) {
      ExitStatus s;
      s.timed_out = true;
      return s;
    }
    std::this_thread::sleep_for(5ms);
  }
  pid_ = -1;
  ExitStatus s = decode(status);
  exit_ = s;
  join_drain();  // the pipes reach EOF once the child is gone
  return s;
}

void DaisyProcess::signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

ExitStatus DaisyProcess::wait_exit(std::chrono::milliseconds timeout) { return reap(timeout); }

ExitStatus DaisyProcess::stop(int sig, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return exit_.value_or(ExitStatus{});
  ::kill(pid_, sig);
  ExitStatus s = reap(timeout);
  if (s.timed_out) {
    ::kill(pid_, SIGKILL);
    reap(30s);
    exit_ = s;
  }
  return s;
}

ExitStatus DaisyProcess::kill9() { return stop(SIGKILL, 30s); }

bool DaisyProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    exit_ = decode(status);
    join_drain();
    return false;
  }
  return true;
}

std::string DaisyProcess::err_text() const {
  std::lock_guard lock(mu_);
  return err_;
}

std::string DaisyProcess::out_text() const {
  std::lock_guard lock(mu_);
  return out_;
}

bool DaisyProcess::wait_for(const std::string& which, std::string_view needle,
                            std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  const std::string& buffer = which == "out" ? out_ : err_;
  cv_.wait_for(lock, timeout, [&] { return buffer.find(needle) != std::string::npos || drained_; });
  return buffer.find(needle) != std::string::npos;
}

bool DaisyProcess::wait_for_err(std::string_view needle, std::chrono::milliseconds timeout) const {
  return wait_for("err", needle, timeout);
}

bool DaisyProcess::wait_for_out(std::string_view needle, std::chrono::milliseconds timeout) const {
  return wait_for("out", needle, timeout);
}

std::string DaisyProcess::sanitizer_report() const {
  std::lock_guard lock(mu_);
  for (std::string_view marker : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                  "runtime error:", "ERROR: UndefinedBehaviorSanitizer", "WARNING: ThreadSanitizer"}) {
    auto at = err_.find(marker);
    if (at != std::string::npos) {
      std::size_t from = at > 300 ? at - 300 : 0;
      return err_.substr(from, 6000);
    }
  }
  return {};
}

std::string DaisyProcess::err_tail(std::size_t bytes) const {
  std::lock_guard lock(mu_);
  return err_.size() > bytes ? err_.substr(err_.size() - bytes) : err_;
}

HttpResponse DaisyProcess::request(std::string_view method, std::string_view target, const Headers& headers,
                                   std::string_view body) const {
  Client c(port_);
  if (!c.connected()) {
    HttpResponse r;
    r.error = c.error();
    return r;
  }
  return c.request(method, target, headers, body);
}

HttpResponse DaisyProcess::create_app(std::string_view name) const {
  boost::json::object body{{"name", name}};
  return request("POST", "/v1/apps", with(admin(), json_content()), boost::json::serialize(body));
}

// ---------------------------------------------------------------- helpers

std::optional<double> metric_value(const std::string& text, std::string_view series) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string_view line(text.data() + pos, eol - pos);
    if (line.size() > series.size() && line.substr(0, series.size()) == series && line[series.size()] == ' ') {
      std::string value(line.substr(series.size() + 1));
      return std::strtod(value.c_str(), nullptr);
    }
    pos = eol + 1;
  }
  return std::nullopt;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

namespace {
bool all_of_class(std::string_view s, std::string_view extra, bool upper) {
  for (char c : s) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || extra.find(c) != std::string_view::npos ||
              (upper && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')));
    if (!ok) return false;
  }
  return true;
}
}  // namespace

bool is_hex32(std::string_view s) { return s.size() == 32 && all_of_class(s, "", false); }

bool is_uuid_v7(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i : {8u, 13u, 18u, 23u}) {
    if (s[i] != '-') return false;
  }
  std::string hex;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i != 8 && i != 13 && i != 18 && i != 23) hex.push_back(s[i]);
  }
  return all_of_class(hex, "", false) && s[14] == '7' && std::string_view("89ab").find(s[19]) != std::string_view::npos;
}

bool is_app_token(std::string_view s) {
  constexpr std::string_view prefix = "dsy_app_";
  return s.size() == prefix.size() + 43 && s.substr(0, prefix.size()) == prefix &&
         all_of_class(s.substr(prefix.size()), "-_", true);
}

::testing::AssertionResult IsProblem(const HttpResponse& r, int status, std::string_view slug) {
  if (r.status != status) {
    return ::testing::AssertionFailure() << "expected status " << status << ", got " << r.summary();
  }
  std::string type = r.header("Content-Type");
  if (type.rfind("application/problem+json", 0) != 0) {
    return ::testing::AssertionFailure() << "Content-Type is '" << type << "', not application/problem+json";
  }
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.body, ec);
  if (ec || !v.is_object()) return ::testing::AssertionFailure() << "body is not a JSON object: " << r.body;
  const auto& o = v.get_object();
  std::string want_type = "urn:daisy:problem:" + std::string(slug);
  auto str = [&](std::string_view key) -> std::string {
    auto it = o.find(key);
    return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : std::string();
  };
  if (str("type") != want_type) {
    return ::testing::AssertionFailure() << "type is '" << str("type") << "', want '" << want_type << "'";
  }
  if (str("title").empty()) return ::testing::AssertionFailure() << "title missing: " << r.body;
  if (str("detail").empty()) return ::testing::AssertionFailure() << "detail missing: " << r.body;
  auto it = o.find("status");
  if (it == o.end() || !it->value().is_int64() || it->value().get_int64() != status) {
    return ::testing::AssertionFailure() << "status member is not " << status << ": " << r.body;
  }
  if (!r.has_header("X-Request-Id")) return ::testing::AssertionFailure() << "no X-Request-Id header";
  return ::testing::AssertionSuccess();
}

std::string url_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

bool begin_held_request(Client& c, std::string_view target, std::size_t body_size) {
  Headers headers = with(bearer(kAdminToken), {{"Content-Type", "application/json"},
                                               {"Expect", "100-continue"},
                                               {"Content-Length", std::to_string(body_size)}});
  return c.send_raw(build_request("POST", target, headers)) && c.read_response().status == 100;
}

}  // namespace daisy_e2e
