#include "http/server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <array>
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "http/problem.h"
#include "observability/access_log.h"
#include "observability/log_value.h"
#include "util/append.h"
#include "util/ascii.h"
#include "util/ids.h"
#include "util/thread_name.h"
#include "util/time.h"

namespace daisy::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr auto sweep_interval = std::chrono::milliseconds(250);
constexpr auto log_flush_bytes = std::size_t{64 * 1024};

// One client connection. Lives in its session coroutine's frame; linked into
// its worker's list so the sweeper can enforce deadlines without a timer per
// operation.
struct Connection {
  enum class State { waiting, reading_body, handling, writing, closing };

  Connection(tcp::socket s, std::size_t max_buffer) : socket(std::move(s)), buffer(max_buffer) {}

  tcp::socket socket;
  beast::flat_buffer buffer;
  std::string head;  // reply head, reused across requests
  State state = State::waiting;
  SteadyClock::time_point deadline = SteadyClock::time_point::max();
  SteadyClock::time_point header_started{};  // epoch: no byte of the next request yet
  bool timed_out = false;
  Connection* prev = nullptr;
  Connection* next = nullptr;

  bool idle() const {
    return state == State::waiting && header_started == SteadyClock::time_point{} && buffer.size() == 0;
  }
};

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

// A header line that starts with a space or tab continues the one before it
// (obs-fold), or follows the request line with whitespace: both refused.
bool has_obs_fold(std::string_view head) {
  for (auto at = head.find("\r\n"); at != std::string_view::npos && at + 2 < head.size();
       at = head.find("\r\n", at + 2)) {
    if (head[at + 2] == ' ' || head[at + 2] == '\t') return true;
  }
  return false;
}

std::mutex log_write_mu;

void write_all(int fd, std::string& buffer) {
  if (buffer.empty()) return;
  std::lock_guard lock(log_write_mu);
  const char* p = buffer.data();
  std::size_t left = buffer.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n <= 0) break;  // a broken log pipe must not stop the server
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  buffer.clear();
}

}  // namespace

struct Server::Impl {
  struct Worker {
    asio::io_context ioc{1};
    Connection* head = nullptr;
    std::string log_buffer;
    std::thread thread;
    // When its sweep last ran (steady clock, ns): the watchdog's proof of life.
    std::atomic<std::int64_t> last_sweep_ns{SteadyClock::now().time_since_epoch().count()};

    void link(Connection* c) {
      c->next = head;
      if (head) head->prev = c;
      head = c;
    }
    void unlink(Connection* c) {
      if (c->prev)
        c->prev->next = c->next;
      else
        head = c->next;
      if (c->next) c->next->prev = c->prev;
      c->prev = c->next = nullptr;
    }
  };

  Impl(ServerConfig cfg, Dispatcher& d, Metrics& m) : config(std::move(cfg)), dispatcher(d), metrics(m) {
    if (config.threads == 0) config.threads = 1;
    for (unsigned i = 0; i < config.threads; ++i) workers.push_back(std::make_unique<Worker>());
    acceptor.emplace(accept_ioc);
  }

  ServerConfig config;
  Dispatcher& dispatcher;
  Metrics& metrics;
  std::vector<std::unique_ptr<Worker>> workers;
  // Accepting and signals live on their own thread, so a worker busy with a
  // slow request never delays new connections or a stop.
  asio::io_context accept_ioc{1};
  std::optional<tcp::acceptor> acceptor;
  std::atomic<bool> stopping{false};
  std::atomic<bool> stop_started{false};
  std::atomic<std::size_t> stream_bytes{0};  // parts of streamed replies being written
  SteadyClock::time_point stop_deadline{};

  std::uint16_t listen();
  void run();
  void begin_stop();
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> sweep(Worker& w);
  asio::awaitable<void> session(Worker& w, tcp::socket socket);
  asio::awaitable<void> serve(Worker& w, Connection& conn, const std::string& remote);
  // Clears what the previous request left in req (its views point into a
  // parser that is gone) and sets the deadline for the next request's head.
  void await_next_request(Connection& conn, Request& req, bool first_request);
  // The reply to a head that could not be read or is refused (obs-fold, Host);
  // nullopt when nothing is answered (the client went away, or idled out).
  std::optional<Response> head_refusal(const boost::system::error_code& ec, bool folded, bool bad_host,
                                       const Connection& conn, std::size_t largest_body) const;
  // The body of a request whose head is read, within body_limit (100-continue
  // answered first). read: the parser holds it; refused: answer `refusal` and
  // close; gone: the client went away.
  struct BodyRead {
    enum class Outcome { read, refused, gone } outcome = Outcome::read;
    Response refusal{};
  };
  // Answers a request whose head was refused, logs and counts it, and closes
  // the connection.
  asio::awaitable<void> refuse(Worker& w, Connection& conn, Request& req, Response& refusal,
                               SteadyClock::time_point start, const std::string& remote);
  // Fills req from the parsed head (method, target, headers, request id) and
  // matches its route; body_limit is set to the route's.
  RouteMatch route_request(Request& req, const bhttp::request<bhttp::string_body>& msg, std::size_t& body_limit);
  asio::awaitable<BodyRead> read_body(Connection& conn, bhttp::request_parser<bhttp::string_body>& parser,
                                      const Request& req, std::size_t body_limit);
  asio::awaitable<bool> send(Connection& conn, const Request& req, Response& resp, bool keep_alive, bool head_only,
                             int version);
  asio::awaitable<bool> send_stream(Connection& conn, Response& resp, bool raw);
  asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> read_head(Connection& conn);
  asio::awaitable<void> linger_close(Connection& conn);
  void log_request(Worker& w, const Request& req, const Response& resp, std::string_view method, std::size_t bytes_in,
                   std::size_t bytes_out, SteadyClock::time_point start, const std::string& remote);
};

std::uint16_t Server::Impl::listen() {
  // Errors are one line a person can read: the address and the system's
  // reason, without Boost's source locations.
  std::string address = config.host + ":" + std::to_string(config.port);
  auto fail = [&](std::string_view step, const boost::system::error_code& ec) {
    throw std::runtime_error("cannot " + std::string(step) + " " + address + ": " + ec.message());
  };
  boost::system::error_code ec;
  tcp::resolver resolver(accept_ioc);
  auto results = resolver.resolve(config.host, std::to_string(config.port), tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) fail("resolve", ec);
  tcp::endpoint endpoint = results.begin()->endpoint();
  if (acceptor->open(endpoint.protocol(), ec); ec) fail("open a socket for", ec);
  if (acceptor->set_option(asio::socket_base::reuse_address(true), ec); ec) fail("configure a socket for", ec);
  if (acceptor->bind(endpoint, ec); ec) fail("listen on", ec);
  if (acceptor->listen(asio::socket_base::max_listen_connections, ec); ec) fail("listen on", ec);
  auto local = acceptor->local_endpoint(ec);
  if (ec) fail("listen on", ec);
  return local.port();
}

void Server::Impl::run() {
  asio::co_spawn(accept_ioc, accept_loop(), asio::detached);

  asio::signal_set signals(accept_ioc, SIGINT, SIGTERM);
  signals.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("msg=\"stopping\" signal={}", signal);
    begin_stop();
  });
  // The signal set must not keep the accept thread alive once the stop has begun.
  asio::co_spawn(
      accept_ioc,
      [this, &signals]() -> asio::awaitable<void> {
        asio::steady_timer t(co_await asio::this_coro::executor);
        while (!stopping.load()) {
          t.expires_after(sweep_interval);
          co_await t.async_wait(use_tuple);
        }
        signals.cancel();
      },
      asio::detached);

  for (auto& w : workers) {
    asio::co_spawn(w->ioc, sweep(*w), asio::detached);
    Worker* worker = w.get();
    const std::string name = "daisy-io-" + std::to_string(&w - workers.data());
    worker->thread = std::thread([worker, name] {
      name_this_thread(name);
      worker->ioc.run();
    });
  }
  name_this_thread("daisy-accept");
  accept_ioc.run();
  for (auto& w : workers) w->thread.join();
}

void Server::Impl::begin_stop() {
  if (stop_started.exchange(true)) return;
  if (config.on_stop) config.on_stop();
  if (config.exit_after_grace) {
    std::thread([grace = config.shutdown_grace] {
      name_this_thread("daisy-stop");
      std::this_thread::sleep_for(grace);
      static constexpr char message[] =
          "level=critical msg=\"the shutdown grace expired with work still running; exiting now\"\n";
      [[maybe_unused]] auto n = ::write(2, message, sizeof message - 1);
      std::_Exit(1);
    }).detach();
  }
  asio::post(accept_ioc, [this] {
    // With the hard end, leave time for the store to commit after the last
    // connections close: half the grace, or all but two seconds of it.
    auto grace = config.exit_after_grace
                     ? std::max(config.shutdown_grace / 2, config.shutdown_grace - std::chrono::milliseconds(2000))
                     : config.shutdown_grace;
    stop_deadline = SteadyClock::now() + grace;
    stopping.store(true);
    boost::system::error_code ec;
    acceptor->close(ec);
  });
}

asio::awaitable<void> Server::Impl::accept_loop() {
  std::size_t next = 0;
  asio::steady_timer backoff(accept_ioc);
  while (!stopping.load()) {
    Worker& target = *workers[next++ % workers.size()];
    auto [ec, socket] = co_await acceptor->async_accept(target.ioc, use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping.load()) break;
      // Out of descriptors or similar: pause rather than spin.
      spdlog::warn("msg=\"accept failed\" error={}", log_value(ec.message()));
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    if (static_cast<std::size_t>(metrics.open_connections.load(std::memory_order_relaxed)) >= config.max_connections) {
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    asio::co_spawn(target.ioc, session(target, std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> Server::Impl::sweep(Worker& w) {
  asio::steady_timer timer(w.ioc);
  for (;;) {
    // During a stop, sweep often: the process ends once every connection has.
    timer.expires_after(stopping.load() ? std::chrono::milliseconds(50) : sweep_interval);
    co_await timer.async_wait(use_tuple);
    auto now = SteadyClock::now();
    w.last_sweep_ns.store(now.time_since_epoch().count(), std::memory_order_relaxed);
    bool stop = stopping.load();
    bool force = stop && now >= stop_deadline;
    for (Connection* c = w.head; c; c = c->next) {
      boost::system::error_code ignored;
      if (c->state == Connection::State::waiting && c->header_started == SteadyClock::time_point{} &&
          c->buffer.size() > 0) {
        // The first bytes of a request arrived: the header clock starts.
        c->header_started = now;
        c->deadline = std::min(c->deadline, now + config.header_timeout);
      }
      if ((stop && c->idle()) || force) {
        c->state = Connection::State::closing;
        c->socket.close(ignored);
        continue;
      }
      if (now >= c->deadline) {
        if (!c->timed_out) {
          // First expiry: cancel the operation so the session can answer 408.
          c->timed_out = true;
          c->deadline = now + std::chrono::seconds(1);
          metrics.connections_timed_out.fetch_add(1, std::memory_order_relaxed);
          c->socket.cancel(ignored);
        } else {
          c->socket.close(ignored);
        }
      }
    }
    write_all(config.log_fd, w.log_buffer);
    if (stop && w.head == nullptr) break;
  }
}

asio::awaitable<void> Server::Impl::session(Worker& w, tcp::socket socket) {
  metrics.open_connections.fetch_add(1, std::memory_order_relaxed);
  std::string remote;
  {
    boost::system::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    if (!ec) remote = ep.address().to_string();
  }
  Connection conn(std::move(socket), config.max_header_bytes + 16 * 1024);
  w.link(&conn);
  try {
    co_await serve(w, conn, remote);
  } catch (const std::exception& e) {
    spdlog::error("msg=\"connection failed\" remote={} error={}", remote, log_value(e.what()));
  }
  boost::system::error_code ignored;
  conn.socket.close(ignored);
  w.unlink(&conn);
  metrics.open_connections.fetch_sub(1, std::memory_order_relaxed);
}

void Server::Impl::await_next_request(Connection& conn, Request& req, bool first_request) {
  req.target = req.path = req.query = req.body = req.route = {};
  req.headers.clear();
  req.principal = Principal{};
  req.request_id.clear();
  req.param_count = 0;

  conn.state = Connection::State::waiting;
  conn.timed_out = false;
  auto now = SteadyClock::now();
  if (conn.buffer.size() > 0) {
    conn.header_started = now;
    conn.deadline = now + config.header_timeout;
  } else {
    // A new connection must start its request within the header timeout (or
    // the idle timeout, if shorter): the idle timeout alone is for keep-alive
    // waits between requests. Otherwise sockets that never send a byte could
    // hold every slot of --max-connections.
    conn.header_started = {};
    conn.deadline = now + (first_request ? std::min(config.header_timeout, config.idle_timeout) : config.idle_timeout);
  }
}

std::optional<Response> Server::Impl::head_refusal(const boost::system::error_code& ec, bool folded, bool bad_host,
                                                   const Connection& conn, std::size_t largest_body) const {
  if (folded) {
    return problem(400, "bad-request",
                   "The request header uses line folding (obs-fold), which HTTP/1.1 does not allow.");
  }
  if (bad_host) return problem(400, "bad-request", "An HTTP/1.1 request must carry exactly one Host header.");
  if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
    return problem(431, "header-too-large",
                   fmt::format("The request header exceeds {} bytes.", config.max_header_bytes));
  }
  if (ec == bhttp::error::body_limit) {
    return problem(413, "body-too-large", fmt::format("The request body exceeds {} bytes.", largest_body));
  }
  if (conn.timed_out && conn.header_started != SteadyClock::time_point{}) {
    return problem(408, "request-timeout", "The request header was not received in time.");
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
      ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
    return problem(400, "bad-request", "The request is not valid HTTP/1.1: " + ec.message() + ".");
  }
  return std::nullopt;
}

asio::awaitable<void> Server::Impl::refuse(Worker& w, Connection& conn, Request& req, Response& refusal,
                                           SteadyClock::time_point start, const std::string& remote) {
  req.request_id = new_request_id();
  req.route = {};
  co_await send(conn, req, refusal, false, false, 11);
  log_request(w, req, refusal, "-", 0, refusal.body.size(), start, remote);
  metrics.record_request(metrics.unmatched_route(), refusal.status,
                         std::chrono::duration<double>(SteadyClock::now() - start).count());
  co_await linger_close(conn);
}

RouteMatch Server::Impl::route_request(Request& req, const bhttp::request<bhttp::string_body>& msg,
                                       std::size_t& body_limit) {
  req.method = parse_method(msg.method_string());
  req.target = msg.target();
  auto qmark = req.target.find('?');
  req.path = req.target.substr(0, qmark);
  req.query = qmark == std::string_view::npos ? std::string_view{} : req.target.substr(qmark + 1);
  for (const auto& field : msg) req.headers.emplace_back(field.name_string(), field.value());
  std::string_view given_id = req.header("X-Request-Id");
  req.request_id = valid_request_id(given_id) ? std::string(given_id) : new_request_id();

  RouteMatch match = dispatcher.router().match(req.method, req.path, req);
  req.route = match.pattern ? std::string_view(match.pattern->pattern) : std::string_view{};
  body_limit = config.max_body_bytes;
  if (match.route) {
    const auto& o = match.route->options;
    body_limit = o.max_body ? o.max_body : (o.batch ? config.max_batch_body_bytes : config.max_body_bytes);
  }
  return match;
}

asio::awaitable<Server::Impl::BodyRead> Server::Impl::read_body(Connection& conn,
                                                                bhttp::request_parser<bhttp::string_body>& parser,
                                                                const Request& req, std::size_t body_limit) {
  using Outcome = BodyRead::Outcome;
  auto length = parser.content_length();
  if (length && *length > body_limit) {
    co_return BodyRead{Outcome::refused,
                       problem(413, "body-too-large", fmt::format("The request body exceeds {} bytes.", body_limit))};
  }
  parser.body_limit(body_limit);
  if (iequals(req.header("Expect"), "100-continue")) {
    static constexpr std::string_view interim = "HTTP/1.1 100 Continue\r\n\r\n";
    conn.state = Connection::State::writing;
    conn.deadline = SteadyClock::now() + config.write_timeout;
    auto [wec, wn] = co_await asio::async_write(conn.socket, asio::buffer(interim), use_tuple);
    if (wec) co_return BodyRead{Outcome::gone};
  }
  conn.state = Connection::State::reading_body;
  conn.deadline = SteadyClock::now() + config.body_timeout;
  auto [bec, body_bytes] = co_await bhttp::async_read(conn.socket, conn.buffer, parser, use_tuple);
  if (!bec) co_return BodyRead{};
  if (bec == bhttp::error::body_limit) {
    co_return BodyRead{Outcome::refused,
                       problem(413, "body-too-large", fmt::format("The request body exceeds {} bytes.", body_limit))};
  }
  if (conn.timed_out) {
    co_return BodyRead{Outcome::refused, problem(408, "request-timeout", "The request body was not received in time.")};
  }
  if (bec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
      bec != bhttp::error::end_of_stream && bec != bhttp::error::partial_message) {
    co_return BodyRead{Outcome::refused,
                       problem(400, "bad-request", "The request body is not valid HTTP/1.1: " + bec.message() + ".")};
  }
  co_return BodyRead{Outcome::gone};  // truncated body: the client went away
}

asio::awaitable<void> Server::Impl::serve(Worker& w, Connection& conn, const std::string& remote) {
  Request req;
  const std::size_t largest_body = std::max(config.max_body_bytes, config.max_batch_body_bytes);
  bool first_request = true;
  for (;;) {
    if (stopping.load()) co_return;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(config.max_header_bytes));
    parser.body_limit(largest_body);
    await_next_request(conn, req, first_request);
    first_request = false;

    // The head is read whole before Beast parses it, so it can be checked as
    // sent: Beast accepts obs-fold, which RFC 9112 says a server must refuse.
    auto [ec, head_end] = co_await read_head(conn);
    std::size_t header_bytes = 0;
    bool folded = false;
    if (!ec) {
      folded = has_obs_fold(std::string_view(static_cast<const char*>(conn.buffer.data().data()), head_end));
      if (!folded)
        std::tie(ec, header_bytes) = co_await bhttp::async_read_header(conn.socket, conn.buffer, parser, use_tuple);
    }
    auto start = SteadyClock::now();
    bool bad_host = false;
    if (!ec && !folded) {
      // One Host, and in HTTP/1.1 exactly one (RFC 9112, section 3.2).
      auto hosts = parser.get().count(bhttp::field::host);
      bad_host = hosts > 1 || (hosts == 0 && parser.get().version() >= 11);
    }
    if (ec || folded || bad_host) {
      // The connection ends here, answered or not.
      if (auto refusal = head_refusal(ec, folded, bad_host, conn, largest_body)) {
        co_await refuse(w, conn, req, *refusal, start, remote);
      }
      co_return;
    }

    auto& msg = parser.get();
    std::size_t body_limit = config.max_body_bytes;
    RouteMatch match = route_request(req, msg, body_limit);

    Response resp;
    bool close_after = false;
    bool have_body = true;
    if (!parser.is_done()) {
      BodyRead body = co_await read_body(conn, parser, req, body_limit);
      if (body.outcome == BodyRead::Outcome::gone) co_return;
      if (body.outcome == BodyRead::Outcome::refused) {
        resp = std::move(body.refusal);
        close_after = true;
        have_body = false;
      }
    }

    if (have_body) {
      req.body = msg.body();
      if (!match.pattern) {
        resp = Dispatcher::not_found_reply();
      } else if (!match.route) {
        resp = dispatcher.unmatched_method_reply(*match.pattern, req);
      } else {
        conn.state = Connection::State::handling;
        conn.deadline = SteadyClock::time_point::max();
        resp = co_await dispatcher.dispatch(*match.route, req);
      }
    }

    bool keep_alive = parser.keep_alive() && !close_after && !stopping.load();
    bool head_only = req.method == Method::head;
    bool sent = co_await send(conn, req, resp, keep_alive, head_only, msg.version());
    std::size_t bytes_in = header_bytes + req.body.size();
    log_request(w, req, resp, msg.method_string(), bytes_in, head_only ? 0 : resp.body.size(), start, remote);
    metrics.record_request(match.route ? match.route->metrics_index : metrics.unmatched_route(), resp.status,
                           std::chrono::duration<double>(SteadyClock::now() - start).count());
    if (!sent) co_return;
    if (close_after) {
      co_await linger_close(conn);
      co_return;
    }
    if (!keep_alive) {
      boost::system::error_code ignored;
      conn.socket.shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
  }
}

asio::awaitable<bool> Server::Impl::send(Connection& conn, const Request& req, Response& resp, bool keep_alive,
                                         bool head_only, int version) {
  std::string& head = conn.head;
  head.clear();
  head.append("HTTP/1.1 ");
  append_decimal(head, static_cast<std::uint64_t>(resp.status));
  head.push_back(' ');
  head.append(status_reason(resp.status));
  head.append("\r\nServer: daisy\r\nDate: ");
  head.append(http_date_now());
  head.append("\r\n");
  if (resp.status != 204) {
    // JSON replies end with a newline, so that `curl -s` leaves the prompt on
    // a line of its own (streamed ones add theirs with their last part).
    if (!resp.stream && !resp.live && !resp.body.empty() && resp.body.back() != '\n' &&
        (resp.content_type == "application/json" || resp.content_type == "application/problem+json")) {
      resp.body.push_back('\n');
    }
    if (!resp.body.empty() || !resp.content_type.empty()) {
      head.append("Content-Type: ");
      head.append(resp.content_type);
      head.append("\r\n");
    }
    if (resp.stream || resp.live) {
      // HTTP/1.0 has no chunked encoding: the body ends when the connection does.
      if (version != 10) head.append("Transfer-Encoding: chunked\r\n");
    } else {
      head.append("Content-Length: ");
      append_decimal(head, resp.body.size());
      head.append("\r\n");
    }
  }
  if (!req.request_id.empty()) {
    head.append("X-Request-Id: ");
    head.append(req.request_id);
    head.append("\r\n");
  }
  for (const auto& [name, value] : resp.headers) {
    head.append(name);
    head.append(": ");
    head.append(value);
    head.append("\r\n");
  }
  if ((resp.stream || resp.live) && version == 10) keep_alive = false;
  if (!keep_alive) {
    head.append("Connection: close\r\n");
  } else if (version == 10) {
    head.append("Connection: keep-alive\r\n");
  }
  head.append("\r\n");

  conn.state = Connection::State::writing;
  conn.deadline = SteadyClock::now() + config.write_timeout;
  if ((!resp.stream && !resp.live) || head_only) {
    std::array<asio::const_buffer, 2> buffers{asio::buffer(head),
                                              head_only ? asio::const_buffer{} : asio::buffer(resp.body)};
    auto [ec, n] = co_await asio::async_write(conn.socket, buffers, use_tuple);
    co_return !ec;
  }
  auto [ec, n] = co_await asio::async_write(conn.socket, asio::buffer(head), use_tuple);
  if (ec) co_return false;
  co_return co_await send_stream(conn, resp, version == 10);
}

// Reads until the buffer holds a whole request head (up to its blank line);
// returns the head's length. Errors as Beast's header read reports them:
// header_limit past the limit, end_of_stream when the client closed before a
// byte, partial_message when it closed mid-head.
asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> Server::Impl::read_head(Connection& conn) {
  std::size_t scanned = 0;
  for (;;) {
    std::string_view data(static_cast<const char*>(conn.buffer.data().data()), conn.buffer.size());
    auto end = data.find("\r\n\r\n", scanned);
    if (end != std::string_view::npos) co_return std::tuple{boost::system::error_code{}, end + 4};
    // What is not HTTP (a TLS ClientHello, binary junk) is refused at once,
    // not after the header timeout: the request line is printable text.
    for (char c : data.substr(0, data.find('\r'))) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        co_return std::tuple{boost::system::error_code(bhttp::error::bad_method), std::size_t{0}};
      }
    }
    scanned = data.size() > 3 ? data.size() - 3 : 0;
    if (data.size() >= config.max_header_bytes || conn.buffer.size() >= conn.buffer.max_size()) {
      co_return std::tuple{boost::system::error_code(bhttp::error::header_limit), std::size_t{0}};
    }
    std::size_t room = std::min<std::size_t>(16 * 1024, conn.buffer.max_size() - conn.buffer.size());
    auto [ec, n] = co_await conn.socket.async_read_some(conn.buffer.prepare(room), use_tuple);
    if (ec == asio::error::eof) {
      ec = conn.buffer.size() == 0 ? bhttp::error::end_of_stream : bhttp::error::partial_message;
    }
    if (ec) co_return std::tuple{ec, std::size_t{0}};
    conn.buffer.commit(n);
  }
}

// Writes a streamed body chunk by chunk. The producer runs between writes, on
// a reader when the route is on the readers, else on this I/O thread; each
// call must be short (no more than one chunk's worth of work).
asio::awaitable<bool> Server::Impl::send_stream(Connection& conn, Response& resp, bool raw) {
  std::string chunk;
  std::string size_line;
  std::optional<asio::steady_timer> pause;
  // Counts the part being written in stream_bytes until it is written.
  struct Held {
    std::atomic<std::size_t>& total;
    std::size_t bytes = 0;
    void hold(std::size_t n) { total.fetch_add(bytes = n, std::memory_order_relaxed); }
    void release() { total.fetch_sub(std::exchange(bytes, 0), std::memory_order_relaxed); }
    ~Held() { release(); }
  } held{stream_bytes};
  for (;;) {
    chunk.clear();
    held.release();
    if (stream_bytes.load(std::memory_order_relaxed) > config.max_stream_buffer_bytes) {
      // Too many parts wait for their clients: make no more until some are taken.
      auto give_up = SteadyClock::now() + config.write_timeout;
      if (!pause) pause.emplace(conn.socket.get_executor());
      while (stream_bytes.load(std::memory_order_relaxed) > config.max_stream_buffer_bytes) {
        if (SteadyClock::now() >= give_up || stopping.load()) co_return false;
        pause->expires_after(std::chrono::milliseconds(10));
        co_await pause->async_wait(use_tuple);
      }
    }
    bool more = false;
    try {
      if (resp.live) {
        conn.deadline = SteadyClock::now() + config.live_wait;
        more = co_await resp.live(chunk);
      } else if (resp.stream_on_readers && dispatcher.readers()) {
        co_await dispatcher.readers()->run([&] { more = resp.stream(chunk); }, true);
      } else {
        more = resp.stream(chunk);
      }
    } catch (const std::exception& e) {
      spdlog::error("msg=\"stream failed\" error={}", log_value(e.what()));
      co_return false;  // the client sees a truncated body, never a false end
    }
    held.hold(chunk.size());
    // A part made is progress even when empty (an XLSX export writes its
    // whole workbook before its first byte): the write timeout starts again.
    conn.deadline = SteadyClock::now() + config.write_timeout;
    if (!chunk.empty()) {
      if (raw) {
        auto [ec, n] = co_await asio::async_write(conn.socket, asio::buffer(chunk), use_tuple);
        if (ec) co_return false;
      } else {
        size_line.clear();
        char hex[20];
        auto [end, err] = std::to_chars(hex, hex + sizeof hex, chunk.size(), 16);
        size_line.append(hex, end);
        size_line.append("\r\n");
        std::array<asio::const_buffer, 3> buffers{asio::buffer(size_line), asio::buffer(chunk),
                                                  asio::buffer("\r\n", 2)};
        auto [ec, n] = co_await asio::async_write(conn.socket, buffers, use_tuple);
        if (ec) co_return false;
      }
    }
    if (!more) break;
  }
  if (raw) co_return false;  // close-delimited: the connection must end
  auto [ec, n] = co_await asio::async_write(conn.socket, asio::buffer("0\r\n\r\n", 5), use_tuple);
  co_return !ec;
}

// After refusing a request whose body was not read, stop sending and drain
// what the client still sends for a moment, so it can read the refusal
// instead of seeing a reset.
asio::awaitable<void> Server::Impl::linger_close(Connection& conn) {
  boost::system::error_code ignored;
  conn.socket.shutdown(tcp::socket::shutdown_send, ignored);
  conn.state = Connection::State::closing;
  conn.timed_out = true;  // the sweeper closes instead of cancelling
  conn.deadline = SteadyClock::now() + std::chrono::seconds(2);
  std::array<char, 16 * 1024> sink;
  std::size_t drained = 0;
  while (drained < 4 * 1024 * 1024) {
    auto [ec, n] = co_await conn.socket.async_read_some(asio::buffer(sink), use_tuple);
    if (ec) break;
    drained += n;
  }
}

void Server::Impl::log_request(Worker& w, const Request& req, const Response& resp, std::string_view method,
                               std::size_t bytes_in, std::size_t bytes_out, SteadyClock::time_point start,
                               const std::string& remote) {
  std::string principal_label;
  std::string_view principal = "-";
  if (req.principal.is_admin()) {
    principal = "admin";
  } else if (req.principal.is_app()) {
    principal_label = "app:" + req.principal.app_id;
    principal = principal_label;
  }
  AccessRecord record;
  record.request_id = req.request_id;
  record.method = method;
  record.target = req.target;
  record.route = req.route;
  record.status = resp.status;
  record.duration_ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
  record.bytes_in = bytes_in;
  record.bytes_out = bytes_out;
  record.principal = principal;
  record.remote = remote;
  append_access_line(w.log_buffer, record);
  if (w.log_buffer.size() >= log_flush_bytes) write_all(config.log_fd, w.log_buffer);
}

Server::Server(ServerConfig config, Dispatcher& dispatcher, Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(config), dispatcher, metrics)) {}

Server::~Server() = default;

std::uint16_t Server::listen() { return impl_->listen(); }
void Server::run() { impl_->run(); }
void Server::stop() { impl_->begin_stop(); }

bool Server::responsive(std::chrono::milliseconds max_age) const {
  auto oldest = (SteadyClock::now() - max_age).time_since_epoch().count();
  for (const auto& w : impl_->workers) {
    if (w->last_sweep_ns.load(std::memory_order_relaxed) < oldest) return false;
  }
  return true;
}

}  // namespace daisy::http
