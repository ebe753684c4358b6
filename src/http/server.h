#pragma once
// The HTTP/1.1 server: N I/O threads, one io_context each, and one coroutine
// per connection. Keep-alive and pipelining (requests on one connection are
// answered in order). Limits on header and body size, timeouts on reading,
// idle and writing, a cap on open connections. Graceful stop: no new
// connections, in-flight requests finish, idle connections close.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "http/dispatcher.h"

namespace daisy::http {

struct ServerConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port (see Server::listen)
  unsigned threads = 1;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_batch_body_bytes = 16 * 1024 * 1024;
  std::chrono::milliseconds header_timeout{10'000};  // first byte to end of header
  std::chrono::milliseconds body_timeout{30'000};    // end of header to end of body
  std::chrono::milliseconds idle_timeout{60'000};    // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{30'000};   // writing one reply
  std::chrono::milliseconds shutdown_grace{15'000};  // longest wait for in-flight requests
  // When set, a stop ends the process once shutdown_grace has passed, whatever
  // a handler or the store is doing (connections are closed at half of it,
  // or two seconds before its end when it is longer, leaving the rest for the
  // store to commit). Off for servers embedded in tests.
  bool exit_after_grace = false;
  std::size_t max_connections = 10'000;
  // Memory that streamed replies (exports, large searches) may hold in parts
  // produced but not yet taken by their clients, all connections together.
  // Past it, a stream waits (up to write_timeout) before making its next part.
  std::size_t max_stream_buffer_bytes = 256 * 1024 * 1024;
  int log_fd = 2;  // where the per-request lines go
  // Longest wait of a live body's part (Response::live) before the
  // connection is taken for dead: the live parts' own wait plus a margin.
  std::chrono::milliseconds live_wait{60'000};
  // Called once when a stop begins (any thread): ends the live bodies.
  std::function<void()> on_stop;
};

class Server {
 public:
  Server(ServerConfig config, Dispatcher& dispatcher, Metrics& metrics);
  ~Server();

  // Binds and listens. Returns the bound port. Throws std::runtime_error with
  // one readable line ("cannot listen on 127.0.0.1:8080: Address already in use").
  std::uint16_t listen();
  // Serves until stop() or SIGINT/SIGTERM, using the calling thread as one of
  // the I/O threads. Returns when every connection has closed.
  void run();
  // Thread-safe; starts a graceful stop.
  void stop();
  // Thread-safe: true when every I/O thread has run its periodic sweep within
  // max_age, i.e. none is stuck (for the systemd watchdog).
  bool responsive(std::chrono::milliseconds max_age) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace daisy::http
