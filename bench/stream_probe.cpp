// Holds many GET /v1/stream connections open and measures how long messages
// take to arrive: for `make bench` (bench/run.sh), while wrk submits.
//
//   daisy_stream_probe PORT TOKEN SECONDS QUIET_QUERY QUIET_COUNT ACTIVE_QUERY ACTIVE_COUNT
//
// Opens QUIET_COUNT streams on /v1/stream?QUIET_QUERY and ACTIVE_COUNT on
// /v1/stream?ACTIVE_QUERY, reads them all for SECONDS, then prints one line:
//   opened=<n> refused=<n> messages=<n> quiet_messages=<n> p50_ms=<x> p99_ms=<x> max_ms=<x>
// (messages: received by the active streams, all of them together)
// A message's delay is the time it is read here less its record's
// received_at (the server's clock, to the millisecond: the same machine's),
// measured on the first active stream; the others are read and counted only
// (by their "data: " lines), so the probe takes little of the CPU it shares
// with the server.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

struct Stream {
  int fd = -1;
  bool active = false;
  bool timed = false;  // its messages' delays are measured
  bool head_read = false;
  std::string raw;        // bytes not yet decoded
  std::string text;       // decoded body not yet split into lines
  std::size_t chunk = 0;  // bytes left in the current chunk
};

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// "2026-12-06T04:14:23.528Z" -> ms since the epoch; negative when malformed.
double parse_utc_ms(const char* s) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec, &ms) != 7) {
    return -1;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<double>(timegm(&tm)) * 1000.0 + ms;
}

int open_stream(int port, const std::string& token, const std::string& query) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  std::string request = "GET /v1/stream?" + query + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token +
                        "\r\nAccept: text/event-stream\r\n\r\n";
  if (send(fd, request.data(), request.size(), 0) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return -1;
  }
  return fd;
}

// Decodes what the chunked body holds so far into s.text.
void dechunk(Stream& s) {
  for (;;) {
    if (s.chunk > 0) {
      std::size_t n = std::min(s.chunk, s.raw.size());
      s.text.append(s.raw, 0, n);
      s.raw.erase(0, n);
      s.chunk -= n;
      if (s.chunk > 0) return;
      continue;
    }
    // "\r\n" ending the previous chunk (absent before the first), then "<hex>\r\n".
    if (s.raw.rfind("\r\n", 0) == 0) s.raw.erase(0, 2);
    auto end = s.raw.find("\r\n");
    if (end == std::string::npos) return;
    s.chunk = std::strtoul(s.raw.substr(0, end).c_str(), nullptr, 16);
    s.raw.erase(0, end + 2);
    if (s.chunk == 0) return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: %s PORT TOKEN SECONDS QUIET_QUERY QUIET_COUNT ACTIVE_QUERY ACTIVE_COUNT\n", argv[0]);
    return 2;
  }
  int port = std::atoi(argv[1]);
  std::string token = argv[2];
  double seconds = std::atof(argv[3]);
  int quiet = std::atoi(argv[5]), active = std::atoi(argv[7]);
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);

  std::vector<Stream> streams;
  int refused = 0;
  for (int i = 0; i < quiet + active; ++i) {
    bool is_active = i >= quiet;
    int fd = open_stream(port, token, is_active ? argv[6] : argv[4]);
    if (fd < 0) {
      ++refused;
      continue;
    }
    Stream& s = streams.emplace_back();
    s.fd = fd;
    s.active = is_active;
    s.timed = is_active && i == quiet;
  }
  std::vector<pollfd> fds;
  for (const auto& s : streams) fds.push_back({s.fd, POLLIN, 0});
  std::vector<double> delays;
  long quiet_messages = 0, messages = 0;
  int opened = 0;
  double end = now_ms() + seconds * 1000.0;
  std::vector<char> buffer(1 << 18);
  while (now_ms() < end) {
    int ready = poll(fds.data(), fds.size(), 100);
    if (ready <= 0) continue;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Stream& s = streams[i];
      ssize_t n = recv(s.fd, buffer.data(), buffer.size(), 0);
      if (n <= 0) {
        fds[i].fd = -1;  // closed: no longer polled
        continue;
      }
      double read_at = now_ms();
      s.raw.append(buffer.data(), static_cast<std::size_t>(n));
      if (!s.head_read) {
        auto head_end = s.raw.find("\r\n\r\n");
        if (head_end == std::string::npos) continue;
        if (s.raw.compare(0, 12, "HTTP/1.1 200") != 0) {
          ++refused;
          fds[i].fd = -1;
          continue;
        }
        ++opened;
        s.head_read = true;
        s.raw.erase(0, head_end + 4);
      }
      dechunk(s);
      if (!s.timed) {
        // Counted only: every message has one "data: " line (chunk sizes
        // cannot split it here: the body is decoded first).
        std::size_t at = 0;
        long data_lines = 0;
        while ((at = s.text.find("\ndata: ", at)) != std::string::npos) {
          ++data_lines;
          at += 7;
        }
        auto last_nl = s.text.rfind('\n');
        s.text.erase(0, last_nl == std::string::npos ? 0 : last_nl);  // keep "\n" before a partial line
        (s.active ? messages : quiet_messages) += data_lines;
        continue;
      }
      std::size_t at = 0;
      for (std::size_t nl; (nl = s.text.find('\n', at)) != std::string::npos; at = nl + 1) {
        if (s.text.compare(at, 6, "data: ") != 0) continue;
        ++messages;
        auto key = s.text.find("\"received_at\":\"", at);
        if (key == std::string::npos || key > nl) continue;
        double received = parse_utc_ms(s.text.c_str() + key + 15);
        if (received >= 0) delays.push_back(std::max(0.0, read_at - received));
      }
      s.text.erase(0, at);
    }
  }
  std::sort(delays.begin(), delays.end());
  auto at = [&](double q) {
    return delays.empty() ? 0.0 : delays[std::min(delays.size() - 1, static_cast<std::size_t>(q * delays.size()))];
  };
  std::printf("opened=%d refused=%d messages=%ld quiet_messages=%ld p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n", opened,
              refused, messages, quiet_messages, at(0.5), at(0.99), delays.empty() ? 0.0 : delays.back());
  for (const auto& s : streams) close(s.fd);
  return 0;
}
