#include "jobs/kinds/google_token.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "util/ascii.h"
#include "util/crypto.h"
#include "util/time.h"

namespace daisy::jobs {
namespace json = boost::json;

namespace {

constexpr std::int64_t token_lifetime_s = 3600;
constexpr auto renew_before_expiry = std::chrono::seconds(60);

// What the token endpoint's error says (OAuth: error, error_description).
std::string token_error(const net::FetchResult& result) {
  if (!result.error.empty()) return "the token endpoint did not answer: " + result.error;
  std::string why = "HTTP " + std::to_string(result.status);
  json::error_code ec;
  json::value body = json::parse(result.body, ec);
  if (!ec && body.is_object()) {
    for (const char* field : {"error", "error_description"}) {
      if (const json::value* v = body.as_object().if_contains(field); v && v->is_string()) {
        why += std::string(": ") + std::string(v->as_string());
      }
    }
  }
  return "Google refused the service account's token: " + why;
}

}  // namespace

std::optional<std::string> google_jwt(const ServiceAccountKey& key, std::string_view scope, std::int64_t now_s) {
  json::object header{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", key.private_key_id}};
  json::object claims{{"iss", key.client_email},
                      {"scope", scope},
                      {"aud", key.token_uri},
                      {"iat", now_s},
                      {"exp", now_s + token_lifetime_s}};
  std::string signing_input = base64url(json::serialize(header)) + "." + base64url(json::serialize(claims));
  auto signature = rs256_sign(key.private_key, signing_input);
  if (!signature) return std::nullopt;
  return signing_input + "." + base64url(*signature);
}

boost::asio::awaitable<AccessToken> GoogleTokens::token(const ServiceAccountKey& key) {
  std::string id = cache_key(key);
  if (auto it = cache_.find(id); it != cache_.end() && std::chrono::steady_clock::now() < it->second.renew_at) {
    co_return AccessToken{it->second.token, "", 200};
  }
  std::int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
  auto assertion = google_jwt(key, sheets_scope, now_s);
  if (!assertion) co_return AccessToken{"", "the service account's private key cannot sign", 0};
  net::FetchRequest request;
  request.url = key.token_uri;
  request.method = "POST";
  request.body = "grant_type=" + percent_encode("urn:ietf:params:oauth:grant-type:jwt-bearer") +
                 "&assertion=" + percent_encode(*assertion);
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  request.timeout = std::chrono::seconds(15);
  request.max_bytes = 64 * 1024;
  request.follow_redirects = false;
  ++fetched_;
  net::FetchResult result = co_await fetcher_.fetch(std::move(request));
  if (!result.error.empty() || result.status != 200) co_return AccessToken{"", token_error(result), result.status};
  json::error_code ec;
  json::value body = json::parse(result.body, ec);
  const json::object* o = !ec && body.is_object() ? &body.as_object() : nullptr;
  const json::value* token = o ? o->if_contains("access_token") : nullptr;
  if (!token || !token->is_string() || token->as_string().empty()) {
    co_return AccessToken{"", "the token endpoint's answer has no access_token", result.status};
  }
  std::int64_t expires_in = 3600;
  if (const json::value* e = o->if_contains("expires_in"); e && e->is_int64()) expires_in = e->as_int64();
  auto renew_at = std::chrono::steady_clock::now() + std::chrono::seconds(expires_in) - renew_before_expiry;
  cache_[id] = Cached{std::string(token->as_string()), renew_at};
  co_return AccessToken{std::string(token->as_string()), "", result.status};
}

void GoogleTokens::forget(const ServiceAccountKey& key) { cache_.erase(cache_key(key)); }

std::string GoogleTokens::cache_key(const ServiceAccountKey& key) {
  return key.token_uri + '\n' + key.client_email + '\n' + key.private_key_id + '\n' +
         to_hex(bytes_of(sha256(key.private_key)));
}

}  // namespace daisy::jobs
