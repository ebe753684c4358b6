#pragma once
// Outgoing HTTP(S) requests (provider pulls, webhook deliveries), through
// libcurl's multi interface on one thread of its own: every transfer in
// progress shares that thread, each bounded by its own connect and total
// timeouts and a size limit, so a peer that hangs holds nothing but its own
// transfer. Keep-alive connections, redirects (up to 5, when asked), gzip and
// certificate checks come from libcurl.
//
// Unless private targets are allowed, a connection to a loopback, private,
// link-local or otherwise internal address is refused (checked on the address
// actually connected to, so a redirect or a DNS answer cannot get around it).

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace daisy::net {

struct FetchRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{5000};  // the whole transfer; connecting takes at most 3 s of it
  std::size_t max_bytes = 256u << 20;       // a larger body fails the fetch
  std::string etag, last_modified;          // sent as If-None-Match / If-Modified-Since when set
  std::string method = "GET";               // GET, POST, PUT, PATCH or DELETE
  std::string body{};                       // sent with any method but GET
  bool follow_redirects = true;
  bool keep_headers = false;  // FetchResult::headers: the response's (the first 64, each cut at 4 KiB)
};

struct FetchResult {
  long status = 0;  // HTTP status; 0 when no response came
  std::string body;
  std::string etag, last_modified;                           // from the response
  std::string retry_after;                                   // the Retry-After header, as sent
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased; only when keep_headers
  std::string error;                                         // empty on a completed exchange (any status)
  bool timed_out = false;
  bool too_large = false;  // the body passed max_bytes
};

// True for addresses a request must not reach unless allowed (see above).
bool is_internal_address(const struct sockaddr* address);

class Fetcher {
 public:
  // background: its thread runs at a lower priority (for deliveries that
  // must not slow the request path).
  explicit Fetcher(bool allow_private_targets, bool background = false);
  ~Fetcher();  // abandons transfers in progress (their callbacks do not run)
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  // `done` runs on the fetcher's thread and must not block.
  void fetch(FetchRequest request, std::function<void(FetchResult)> done);
  // The same, resuming the calling coroutine on its own executor.
  boost::asio::awaitable<FetchResult> fetch(FetchRequest request);

 private:
  struct Transfer;
  void run();

  bool allow_private_;
  bool background_;
  void* multi_ = nullptr;  // CURLM*
  std::mutex mu_;
  std::deque<std::unique_ptr<Transfer>> incoming_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace daisy::net
