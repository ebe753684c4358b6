#pragma once
// A real redis-server (Debian's package) for end-to-end tests, on a free port
// of 127.0.0.1, with no persistence; and a subscriber that reads what is
// published on one channel.
//
// RedisServer: the constructor starts the server and waits until it accepts
// connections (ok() tells whether it did); the destructor kills it.
// Subscriber: SUBSCRIBEs on a connection of its own; next() returns the next
// message's payload, or nullopt after the timeout.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

namespace daisy_e2e {

class RedisServer {
 public:
  RedisServer();
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  bool ok() const { return port_ != 0; }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string error_;
};

class Subscriber {
 public:
  Subscriber(int port, const std::string& channel);
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  bool ok() const { return fd_ >= 0; }
  std::optional<std::string> next(std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);
  std::optional<std::string> line(std::chrono::steady_clock::time_point deadline);
  std::optional<std::string> bulk(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;
};

}  // namespace daisy_e2e
