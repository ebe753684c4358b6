#pragma once
// Google's OAuth 2.0 for service accounts: a JWT signed RS256 with the
// account's key (claims iss, scope, aud = the key's token_uri, iat, exp one
// hour later) is exchanged at token_uri for an access token, which is kept
// until a minute before it expires. One cache per job runner; runner thread
// only.

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "jobs/kinds/sheets_config.h"
#include "net/fetcher.h"

namespace daisy::jobs {

inline constexpr std::string_view sheets_scope = "https://www.googleapis.com/auth/spreadsheets";

// The signed assertion for this key at now_s (seconds since the epoch);
// nullopt when the key cannot sign.
std::optional<std::string> google_jwt(const ServiceAccountKey& key, std::string_view scope, std::int64_t now_s);

struct AccessToken {
  std::string token;     // empty when none was had
  std::string error;     // why not
  long http_status = 0;  // of the token endpoint's answer (0: none came)
};

class GoogleTokens {
 public:
  explicit GoogleTokens(net::Fetcher& fetcher) : fetcher_(fetcher) {}
  // A token for the key: the cached one, or a new one from its token_uri.
  boost::asio::awaitable<AccessToken> token(const ServiceAccountKey& key);
  // Drops the key's cached token (Google answered 401 with it).
  void forget(const ServiceAccountKey& key);
  // Token requests made (for /metrics).
  std::uint64_t fetched() const { return fetched_.load(std::memory_order_relaxed); }

 private:
  struct Cached {
    std::string token;
    std::chrono::steady_clock::time_point renew_at;
  };
  static std::string cache_key(const ServiceAccountKey& key);
  net::Fetcher& fetcher_;
  std::map<std::string, Cached> cache_;
  std::atomic<std::uint64_t> fetched_{0};
};

}  // namespace daisy::jobs
