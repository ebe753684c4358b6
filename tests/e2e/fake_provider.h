#pragma once
// FakeProvider: a local HTTP/1.1 server that end-to-end tests point daisy's
// providers at, so a test controls what each pull gets and sees what was asked.
//
// Contract:
// - The constructor listens on 127.0.0.1 on a free port (it throws
//   std::system_error when it cannot) and accepts in a background thread; each
//   connection is served on a thread of its own. The destructor interrupts every
//   read, write, delay and hang, closes every socket and joins every thread.
// - One request per connection: the request line, headers and a Content-Length
//   body (no chunked request bodies) are read, one response is sent with
//   `Connection: close`, and the socket is closed. A malformed or incomplete
//   request (or headers over 64 KiB) gets no answer: the socket is just closed.
// - Routes are keyed by path without the query string; the latest set() or
//   set_handler() for a path wins; a path with no route goes to the
//   set_fallback() handler, or answers 404 when there is none. A handler runs on
//   the connection's thread, without locks held (it may call set(), count()...);
//   an exception from it answers 500 with what() as the body.
// - Every response carries Content-Type (reply.content_type) and Content-Length
//   (body size), unless reply.headers names them itself: then those are sent as
//   given (e.g. a Content-Length larger than the body makes a truncated transfer).
//   A HEAD gets the headers only.
// - Conditional requests, only when the reply is 2xx: If-None-Match equal to the
//   reply's ETag header, or (no If-None-Match) If-Modified-Since equal to its
//   Last-Modified header (exact string equality), answer 304 with the reply's
//   headers and no body.
// - delay: waits that long before answering. hang: after the delay, sends nothing
//   and closes only on destruction, release_hangs(), or when the client has gone.
// - Every complete request is logged (unknown paths too) before it is answered,
//   in the order they were read.
//
// Thread-safe: every public member may be called while requests are served.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace daisy::e2e {

class FakeProvider {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  struct Request {
    std::string method{}, path{}, query{};  // query: the raw text after '?', "" if none
    Headers headers{};
    std::string body{};

    // The first header with this name (case-insensitive), or "".
    std::string header(std::string_view name) const;
    // The first query parameter with this name, percent-decoded ('+' stays '+'), or "".
    std::string query_param(std::string_view name) const;
  };

  struct Reply {
    int status = 200;
    // Every member has a default member initializer, so that g++ 12's
    // -Wmissing-field-initializers accepts partial (and designated) initializers.
    std::string body{};
    std::string content_type = "application/xml";
    Headers headers{};  // extra headers, e.g. {{"ETag", "\"v1\""}}
    std::chrono::milliseconds delay{0};
    bool hang = false;
  };

  using Handler = std::function<Reply(const Request&)>;

  // Where it listens: 127.0.0.1, or [::1] for tests of IPv6 literal URLs.
  enum class Family { ipv4, ipv6 };
  explicit FakeProvider(Family family = Family::ipv4);
  ~FakeProvider();
  FakeProvider(const FakeProvider&) = delete;
  FakeProvider& operator=(const FakeProvider&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port><path>"; path starts with '/' and may carry a query.
  std::string url(std::string_view path) const;

  void set(std::string path, Reply reply);
  void set_handler(std::string path, Handler handler);
  // The handler for every path that has no route (the latest call wins).
  void set_fallback(Handler handler);
  // Closes the connections hanging now (later hangs hang until the next call).
  void release_hangs();

  std::vector<Request> requests(std::string_view path) const;
  std::size_t count(std::string_view path) const;
  void clear_log();

 private:
  struct Connection {
    std::thread thread;
    bool done = false;  // guarded by mu_
  };

  void accept_loop();
  void serve(int fd);
  bool read_request(int fd, Request& request) const;
  bool wait_to_answer(int fd, const Reply& reply);
  void send_reply(int fd, const Request& request, const Reply& reply) const;
  bool wait_io(int fd, short events, int timeout_ms) const;
  bool send_all(int fd, std::string_view data) const;

  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  // written once on destruction: wakes every poll
  int port_ = 0;
  bool ipv6_ = false;
  std::thread acceptor_;
  std::list<Connection> connections_;  // owned by the acceptor until it is joined

  mutable std::mutex mu_;
  std::condition_variable cv_;  // stopping_ or release_generation_ changed
  bool stopping_ = false;
  std::uint64_t release_generation_ = 0;
  std::map<std::string, std::shared_ptr<const Handler>, std::less<>> routes_;
  std::shared_ptr<const Handler> fallback_;  // null: a path with no route answers 404
  std::vector<Request> log_;
};

}  // namespace daisy::e2e
