#include "net/fetcher.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>

#include "util/thread_name.h"

namespace daisy::net {
namespace asio = boost::asio;

namespace {

constexpr std::size_t max_kept_headers = 64;
constexpr std::size_t max_kept_header_bytes = 4096;

bool in_v4(std::uint32_t ip, const char* net, int bits) {
  in_addr a{};
  inet_pton(AF_INET, net, &a);
  std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
  return (ip & mask) == (ntohl(a.s_addr) & mask);
}

bool internal_v4(std::uint32_t ip) {
  static constexpr std::pair<const char*, int> ranges[] = {{"0.0.0.0", 8},    {"10.0.0.0", 8},     {"100.64.0.0", 10},
                                                           {"127.0.0.0", 8},  {"169.254.0.0", 16}, {"172.16.0.0", 12},
                                                           {"192.0.0.0", 24}, {"192.168.0.0", 16}, {"198.18.0.0", 15},
                                                           {"224.0.0.0", 4},  {"240.0.0.0", 4}};
  return std::any_of(std::begin(ranges), std::end(ranges), [&](const auto& r) { return in_v4(ip, r.first, r.second); });
}

struct Init {
  Init() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

}  // namespace

bool is_internal_address(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    return internal_v4(ntohl(reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6) {
    const auto* a = &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_SITELOCAL(a) ||
        IN6_IS_ADDR_MULTICAST(a)) {
      return true;
    }
    if ((a->s6_addr[0] & 0xfe) == 0xfc) return true;                     // unique local fc00::/7
    static constexpr std::uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};  // 64:ff9b::/96 embeds an IPv4 address
    if (std::memcmp(a->s6_addr, nat64, 12) == 0) {
      std::uint32_t v4;
      std::memcpy(&v4, a->s6_addr + 12, 4);
      return internal_v4(ntohl(v4));
    }
    if (IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_V4COMPAT(a)) {
      std::uint32_t v4;
      std::memcpy(&v4, a->s6_addr + 12, 4);
      return internal_v4(ntohl(v4));
    }
    return false;
  }
  return true;  // anything else (unix sockets...) is no target
}

struct Fetcher::Transfer {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  FetchRequest request;
  FetchResult result;
  std::function<void(FetchResult)> done;
  bool allow_private = false;
  bool refused_address = false;
  bool too_large = false;
  char error[CURL_ERROR_SIZE] = {};

  ~Transfer() {
    if (easy) curl_easy_cleanup(easy);
    if (headers) curl_slist_free_all(headers);
  }

  // A libcurl handle set up for the request (kept in easy; the headers it
  // sends in headers), both freed with the transfer.
  CURL* open_handle();
  // The result once libcurl is done: the status, or why there is none.
  void settle(CURLcode code);

  static size_t on_body(char* data, size_t size, size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    size_t bytes = size * n;
    if (t->result.body.size() + bytes > t->request.max_bytes) {
      t->too_large = true;
      return 0;  // aborts the transfer
    }
    t->result.body.append(data, bytes);
    return bytes;
  }

  static size_t on_header(char* data, size_t size, size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    std::string_view line(data, size * n);
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string name(line.substr(0, colon));
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
        value.remove_suffix(1);
      }
      if (name == "etag") t->result.etag = value;
      if (name == "content-length") {
        // One allocation of the announced size instead of doubling as the
        // body arrives (a 100 MB feed would briefly hold 200 MB).
        std::size_t length = std::strtoull(std::string(value).c_str(), nullptr, 10);
        if (length > 0 && length <= t->request.max_bytes) t->result.body.reserve(length);
      }
      if (name == "last-modified") t->result.last_modified = value;
      if (name == "retry-after") t->result.retry_after = value;
      if (t->request.keep_headers && t->result.headers.size() < max_kept_headers) {
        t->result.headers.emplace_back(std::move(name), std::string(value.substr(0, max_kept_header_bytes)));
      }
    } else if (line.rfind("HTTP/", 0) == 0) {
      // A new response (after a redirect): forget the previous one's validators.
      t->result.etag.clear();
      t->result.last_modified.clear();
      t->result.retry_after.clear();
      t->result.headers.clear();
    }
    return size * n;
  }

  static curl_socket_t on_open_socket(void* self, curlsocktype, curl_sockaddr* address) {
    auto* t = static_cast<Transfer*>(self);
    if (!t->allow_private && is_internal_address(&address->addr)) {
      t->refused_address = true;
      return CURL_SOCKET_BAD;
    }
    return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  }
};

Fetcher::Fetcher(bool allow_private_targets, bool background)
    : allow_private_(allow_private_targets), background_(background) {
  static Init init;
  multi_ = curl_multi_init();
  thread_ = std::thread([this] {
    name_this_thread(background_ ? "daisy-deliver" : "daisy-fetch");
    if (background_) lower_this_threads_priority();
    run();
  });
}

Fetcher::~Fetcher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
  thread_.join();
  curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

void Fetcher::fetch(FetchRequest request, std::function<void(FetchResult)> done) {
  auto t = std::make_unique<Transfer>();
  t->request = std::move(request);
  t->done = std::move(done);
  t->allow_private = allow_private_;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    incoming_.push_back(std::move(t));
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

asio::awaitable<FetchResult> Fetcher::fetch(FetchRequest request) {
  auto initiate = [this, request = std::move(request)](auto handler) mutable {
    using Handler = std::decay_t<decltype(handler)>;
    auto executor = asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
    auto shared = std::make_shared<Handler>(std::move(handler));
    fetch(std::move(request), [executor, shared](FetchResult result) {
      asio::post(executor, [shared, result = std::move(result)]() mutable { (*shared)(std::move(result)); });
    });
  };
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>, void(FetchResult)>(std::move(initiate),
                                                                                            asio::use_awaitable);
}

CURL* Fetcher::Transfer::open_handle() {
  CURL* e = curl_easy_init();
  easy = e;
  const FetchRequest& r = request;
  curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, r.follow_redirects ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // every encoding libcurl decodes
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  // No proxy from the environment: the address check below must see the provider itself.
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.count()));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<long>(r.timeout.count(), 3000)));
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(r.max_bytes));
  curl_easy_setopt(e, CURLOPT_USERAGENT, "Daisy/" DAISY_VERSION);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Transfer::on_open_socket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, this);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(e, CURLOPT_PRIVATE, this);
  for (const auto& [name, value] : r.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  if (!r.etag.empty()) headers = curl_slist_append(headers, ("If-None-Match: " + r.etag).c_str());
  if (!r.last_modified.empty()) {
    headers = curl_slist_append(headers, ("If-Modified-Since: " + r.last_modified).c_str());
  }
  if (r.method == "DELETE" && r.body.empty()) {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else if (r.method != "GET") {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    // A body is sent as POST sends it, under the method asked for.
    if (r.method != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    // No "Expect: 100-continue" round trip before the body.
    headers = curl_slist_append(headers, "Expect:");
  }
  if (headers) curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
  return e;
}

void Fetcher::Transfer::settle(CURLcode code) {
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &result.status);
  if (code == CURLE_OK) return;
  result.status = 0;
  result.body.clear();
  if (refused_address) {
    result.error =
        "refused: the target's address is internal (loopback, private or link-local); "
        "start Daisy with --allow-private-targets to allow it";
  } else if (too_large || code == CURLE_FILESIZE_EXCEEDED) {
    result.too_large = true;
    result.error = "the response is larger than " + std::to_string(request.max_bytes) + " bytes";
  } else if (code == CURLE_OPERATION_TIMEDOUT) {
    result.timed_out = true;
    result.error = "timed out after " + std::to_string(request.timeout.count()) + " ms";
  } else {
    result.error = error[0] ? error : curl_easy_strerror(code);
  }
}

void Fetcher::run() {
  auto* multi = static_cast<CURLM*>(multi_);
  std::map<CURL*, std::unique_ptr<Transfer>> active;
  for (;;) {
    std::deque<std::unique_ptr<Transfer>> added;
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
      added.swap(incoming_);
    }
    for (auto& t : added) {
      CURL* e = t->open_handle();
      curl_multi_add_handle(multi, e);
      active.emplace(e, std::move(t));
    }
    int running = 0;
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* e = msg->easy_handle;
      CURLcode code = msg->data.result;
      auto it = active.find(e);
      curl_multi_remove_handle(multi, e);
      if (it == active.end()) continue;
      std::unique_ptr<Transfer> t = std::move(it->second);
      active.erase(it);
      t->settle(code);
      t->done(std::move(t->result));
    }
    curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
  }
  for (auto& [e, t] : active) curl_multi_remove_handle(multi, e);
}

}  // namespace daisy::net
