#include "fake_provider.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <iterator>
#include <system_error>

namespace daisy::e2e {
namespace {

using namespace std::chrono_literals;

bool iequals(std::string_view a, std::string_view b) {
  auto lower = [](unsigned char c) { return std::tolower(c); };
  return std::ranges::equal(a, b, {}, lower, lower);
}

std::string find_header(const FakeProvider::Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

std::string_view trim(std::string_view s) {
  std::size_t first = s.find_first_not_of(" \t"), last = s.find_last_not_of(" \t");
  return first == std::string_view::npos ? std::string_view{} : s.substr(first, last - first + 1);
}

// %XX becomes its byte; anything else (an invalid escape, '+') stays as it is.
std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned byte = 0;
    const char* hex = s.data() + i + 1;
    if (s[i] == '%' && i + 2 < s.size() && std::from_chars(hex, hex + 2, byte, 16).ptr == hex + 2) {
      out += static_cast<char>(byte);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string status_line(int status) {
  const char* reason = status == 200 ? "OK" : status == 304 ? "Not Modified" : status == 404 ? "Not Found" : "Status";
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
}

// True when the reply is 2xx and the request's validators match it.
bool not_modified(const FakeProvider::Request& request, const FakeProvider::Reply& reply) {
  if (reply.status / 100 != 2) return false;
  std::string if_none_match = request.header("If-None-Match");
  if (!if_none_match.empty()) return if_none_match == find_header(reply.headers, "ETag");
  std::string since = request.header("If-Modified-Since");
  return !since.empty() && since == find_header(reply.headers, "Last-Modified");
}

}  // namespace

std::string FakeProvider::Request::header(std::string_view name) const { return find_header(headers, name); }

std::string FakeProvider::Request::query_param(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    std::size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    std::size_t eq = pair.find('=');
    if (percent_decode(pair.substr(0, eq)) != name) continue;
    return eq == std::string_view::npos ? std::string{} : percent_decode(pair.substr(eq + 1));
  }
  return {};
}

FakeProvider::FakeProvider(Family family) : ipv6_(family == Family::ipv6) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (ipv6_) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    length = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&storage);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    length = sizeof *a;
  }
  auto* addr = reinterpret_cast<sockaddr*>(&storage);
  bool ok = ::pipe2(wake_, O_CLOEXEC) == 0 &&
            (listen_fd_ = ::socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) >= 0 &&
            ::bind(listen_fd_, addr, length) == 0 && ::listen(listen_fd_, 64) == 0 &&
            ::getsockname(listen_fd_, addr, &length) == 0;
  if (!ok) {
    int error = errno;
    for (int fd : {listen_fd_, wake_[0], wake_[1]}) {
      if (fd >= 0) ::close(fd);
    }
    throw std::system_error(
        error, std::generic_category(),
        ipv6_ ? "FakeProvider: cannot listen on [::1]" : "FakeProvider: cannot listen on 127.0.0.1");
  }
  port_ =
      ntohs(ipv6_ ? reinterpret_cast<sockaddr_in6*>(addr)->sin6_port : reinterpret_cast<sockaddr_in*>(addr)->sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeProvider::~FakeProvider() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  [[maybe_unused]] auto n = ::write(wake_[1], "x", 1);
  acceptor_.join();
  for (auto& c : connections_) c.thread.join();
  for (int fd : {listen_fd_, wake_[0], wake_[1]}) ::close(fd);
}

std::string FakeProvider::url(std::string_view path) const {
  return std::string(ipv6_ ? "http://[::1]:" : "http://127.0.0.1:") + std::to_string(port_) + std::string(path);
}

void FakeProvider::set(std::string path, Reply reply) {
  set_handler(std::move(path), [reply = std::move(reply)](const Request&) { return reply; });
}

void FakeProvider::set_handler(std::string path, Handler handler) {
  auto shared = std::make_shared<const Handler>(std::move(handler));
  std::lock_guard lock(mu_);
  routes_[std::move(path)] = std::move(shared);
}

void FakeProvider::set_fallback(Handler handler) {
  auto shared = std::make_shared<const Handler>(std::move(handler));
  std::lock_guard lock(mu_);
  fallback_ = std::move(shared);
}

void FakeProvider::release_hangs() {
  {
    std::lock_guard lock(mu_);
    ++release_generation_;
  }
  cv_.notify_all();
}

std::vector<FakeProvider::Request> FakeProvider::requests(std::string_view path) const {
  std::lock_guard lock(mu_);
  std::vector<Request> out;
  std::ranges::copy_if(log_, std::back_inserter(out), [&](const Request& r) { return r.path == path; });
  return out;
}

std::size_t FakeProvider::count(std::string_view path) const {
  std::lock_guard lock(mu_);
  return static_cast<std::size_t>(std::ranges::count(log_, path, &Request::path));
}

void FakeProvider::clear_log() {
  std::lock_guard lock(mu_);
  log_.clear();
}

void FakeProvider::accept_loop() {
  while (wait_io(listen_fd_, POLLIN, -1)) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) std::this_thread::sleep_for(10ms);
      continue;
    }
    std::lock_guard lock(mu_);
    connections_.remove_if([](Connection& c) {  // a done thread has left serve(): join does not wait
      if (c.done) c.thread.join();
      return c.done;
    });
    Connection& c = connections_.emplace_back();
    try {
      c.thread = std::thread([this, fd, &c] {
        serve(fd);
        std::lock_guard done_lock(mu_);
        c.done = true;
      });
    } catch (const std::system_error&) {  // out of threads: drop this connection
      connections_.pop_back();
      ::close(fd);
    }
  }
}

void FakeProvider::serve(int fd) {
  Request request;
  if (read_request(fd, request)) {
    std::shared_ptr<const Handler> handler;
    {
      std::lock_guard lock(mu_);
      log_.push_back(request);
      auto it = routes_.find(request.path);
      handler = it != routes_.end() ? it->second : fallback_;
    }
    Reply reply{.status = 404, .body = "not found\n", .content_type = "text/plain"};
    try {
      if (handler) reply = (*handler)(request);
    } catch (const std::exception& e) {
      reply = Reply{.status = 500, .body = e.what(), .content_type = "text/plain"};
    }
    if (wait_to_answer(fd, reply)) {
      send_reply(fd, request, reply);
      // Lingering close: let the client read the response before the socket goes.
      ::shutdown(fd, SHUT_WR);
      char sink[4096];
      for (int i = 0; i < 10 && wait_io(fd, POLLIN, 100) && ::recv(fd, sink, sizeof sink, 0) > 0; ++i) {
      }
    }
  }
  ::close(fd);
}

bool FakeProvider::read_request(int fd, Request& request) const {
  std::string data;
  char chunk[16384];
  auto more = [&] {
    if (!wait_io(fd, POLLIN, -1)) return false;
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n > 0) data.append(chunk, static_cast<std::size_t>(n));
    return n > 0;
  };
  std::size_t end;
  while ((end = data.find("\r\n\r\n")) == std::string::npos) {
    if (data.size() > 65536 || !more()) return false;
  }
  std::string_view head(data.data(), end + 2);  // each line ends with "\r\n"
  std::size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  std::size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return false;
  request.method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::size_t question = target.find('?');
  request.path = target.substr(0, question);
  if (question != std::string_view::npos) request.query = target.substr(question + 1);
  for (head.remove_prefix(eol + 2); !head.empty(); head.remove_prefix(eol + 2)) {
    eol = head.find("\r\n");
    std::string_view field = head.substr(0, eol);
    std::size_t colon = field.find(':');
    if (colon == std::string_view::npos) return false;
    request.headers.emplace_back(trim(field.substr(0, colon)), trim(field.substr(colon + 1)));
  }
  std::size_t length = 0;
  std::string content_length = request.header("Content-Length");
  std::from_chars(content_length.data(), content_length.data() + content_length.size(), length);
  if (length > 0 && iequals(request.header("Expect"), "100-continue") &&
      !send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n")) {
    return false;
  }
  data.erase(0, end + 4);
  while (data.size() < length) {
    if (!more()) return false;
  }
  request.body = data.substr(0, length);
  return true;
}

bool FakeProvider::wait_to_answer(int fd, const Reply& reply) {
  std::unique_lock lock(mu_);
  if (cv_.wait_for(lock, reply.delay, [&] { return stopping_; })) return false;
  if (!reply.hang) return true;
  const std::uint64_t generation = release_generation_;
  while (!cv_.wait_for(lock, 100ms, [&] { return stopping_ || release_generation_ != generation; })) {
    lock.unlock();
    // Has the client gone? (readable with nothing to read, or an error)
    pollfd p{fd, POLLIN, 0};
    char byte;
    bool gone = ::poll(&p, 1, 0) > 0 &&
                ((p.revents & (POLLERR | POLLHUP)) || ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) <= 0);
    lock.lock();
    if (gone) break;
  }
  return false;
}

void FakeProvider::send_reply(int fd, const Request& request, const Reply& reply) const {
  const bool not_mod = not_modified(request, reply);
  const std::string_view body = not_mod || request.method == "HEAD" ? std::string_view{} : reply.body;
  std::string head = status_line(not_mod ? 304 : reply.status);
  bool has_type = false, has_length = false;
  for (const auto& [k, v] : reply.headers) {
    has_type = has_type || iequals(k, "Content-Type");
    has_length = has_length || iequals(k, "Content-Length");
    head += k + ": " + v + "\r\n";
  }
  if (!has_type) head += "Content-Type: " + reply.content_type + "\r\n";
  if (!has_length) head += "Content-Length: " + std::to_string(not_mod ? 0 : reply.body.size()) + "\r\n";
  head += "Connection: close\r\n\r\n";
  if (send_all(fd, head)) send_all(fd, body);
}

// Polls fd for events alongside the wake pipe: false when stopping, on timeout or error.
bool FakeProvider::wait_io(int fd, short events, int timeout_ms) const {
  pollfd p[2] = {{fd, events, 0}, {wake_[0], POLLIN, 0}};
  int rc;
  while ((rc = ::poll(p, 2, timeout_ms)) < 0 && errno == EINTR) {
  }
  return rc > 0 && p[1].revents == 0 && p[0].revents != 0;
}

bool FakeProvider::send_all(int fd, std::string_view data) const {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EAGAIN) {
      if (!wait_io(fd, POLLOUT, -1)) return false;  // stopping
    } else if (n == 0 || errno != EINTR) {
      return false;  // the client has gone
    }
  }
  return true;
}

}  // namespace daisy::e2e
