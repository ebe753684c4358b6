#include "redis_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace daisy_e2e {

namespace {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

RedisServer::RedisServer() {
  for (int tries = 0; tries < 5 && port_ == 0; ++tries) {
    int port = free_port();
    pid_t pid = ::fork();
    if (pid == 0) {
      std::string p = std::to_string(port);
      ::execlp("redis-server", "redis-server", "--port", p.c_str(), "--bind", "127.0.0.1", "--save", "", "--appendonly",
               "no", "--daemonize", "no", "--loglevel", "warning", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    if (pid < 0) {
      error_ = "fork failed";
      return;
    }
    for (int i = 0; i < 100; ++i) {
      int fd = connect_to(port);
      if (fd >= 0) {
        ::close(fd);
        pid_ = pid;
        port_ = port;
        return;
      }
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) break;  // it died (port taken?): try another
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    error_ = "redis-server did not start (is Debian's redis-server installed? scripts/install-deps.sh installs it)";
  }
}

RedisServer::~RedisServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

Subscriber::Subscriber(int port, const std::string& channel) {
  fd_ = connect_to(port);
  if (fd_ < 0) return;
  std::string command = "*2\r\n$9\r\nSUBSCRIBE\r\n$" + std::to_string(channel.size()) + "\r\n" + channel + "\r\n";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  // The confirmation: *3 $9 subscribe $<channel> :1
  if (!send_all(fd_, command) || line(deadline) != "*3" || !bulk(deadline) || !bulk(deadline) || !line(deadline)) {
    ::close(fd_);
    fd_ = -1;
  }
}

Subscriber::~Subscriber() {
  if (fd_ >= 0) ::close(fd_);
}

bool Subscriber::fill(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char chunk[4096];
  ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
  if (n <= 0) return false;
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

std::optional<std::string> Subscriber::line(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto end = buffer_.find("\r\n");
    if (end != std::string::npos) {
      std::string out = buffer_.substr(0, end);
      buffer_.erase(0, end + 2);
      return out;
    }
    if (!fill(deadline)) return std::nullopt;
  }
}

std::optional<std::string> Subscriber::bulk(std::chrono::steady_clock::time_point deadline) {
  auto head = line(deadline);
  if (!head || head->empty() || (*head)[0] != '$') return std::nullopt;
  std::size_t size = std::strtoull(head->c_str() + 1, nullptr, 10);
  while (buffer_.size() < size + 2) {
    if (!fill(deadline)) return std::nullopt;
  }
  std::string out = buffer_.substr(0, size);
  buffer_.erase(0, size + 2);
  return out;
}

std::optional<std::string> Subscriber::next(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return std::nullopt;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // A message: *3 $7 message $<channel> $<payload>
  if (line(deadline) != "*3") return std::nullopt;
  if (bulk(deadline) != "message") return std::nullopt;
  if (!bulk(deadline)) return std::nullopt;
  return bulk(deadline);
}

}  // namespace daisy_e2e
