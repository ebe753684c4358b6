#include "http/dispatcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <variant>

#include "http/cors.h"
#include "http/problem.h"
#include "observability/log_value.h"
#include "util/ascii.h"

namespace daisy::http {
namespace {

std::string_view media_type(std::string_view content_type) {
  auto semi = content_type.find(';');
  std::string_view t = content_type.substr(0, semi);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  return t;
}

// The refusal of a ?key= that is not a publishable key: the one credential
// that may be put in a URL (which proxies and browsers keep).
std::optional<Response> check_key_in_query(Request& req, const Authenticator& auth) {
  auto key = req.query_param("key");
  switch (auth.authenticate_publishable_key(key.value_or(""), req.principal)) {
    case Authenticator::Outcome::ok:
      return std::nullopt;
    case Authenticator::Outcome::unknown:
      return unauthorized("The publishable key in ?key= is not valid (unknown, rotated or deleted).", true);
    case Authenticator::Outcome::missing:
    case Authenticator::Outcome::malformed:
      break;
  }
  return unauthorized(
      "Only an app's publishable key (dpk_...) may be sent in ?key=; send a secret token in "
      "the Authorization header.",
      true);
}

// nullopt when the request may proceed; otherwise the refusal.
std::optional<Response> check_access(const Route& route, Request& req, const Authenticator& auth) {
  if (route.access == Access::public_) return std::nullopt;
  std::string_view header = req.header("Authorization");
  if (header.empty() && route.options.key_in_query && req.query_param("key")) {
    if (auto refusal = check_key_in_query(req, auth)) return refusal;
    return std::nullopt;  // a publishable key, which the route takes
  }
  switch (auth.authenticate(header, req.principal)) {
    case Authenticator::Outcome::missing:
      return unauthorized("This route needs a bearer token: Authorization: Bearer <token>.", false);
    case Authenticator::Outcome::malformed:
      return unauthorized("The Authorization header must be 'Bearer <token>'.", true);
    case Authenticator::Outcome::unknown:
      return unauthorized("The bearer token is not valid (unknown, rotated or deleted).", true);
    case Authenticator::Outcome::ok:
      break;
  }
  if (route.access == Access::admin && !req.principal.is_admin()) {
    return problem(403, "forbidden", "This route needs the admin token.");
  }
  if (req.principal.is_publishable() && !route.options.publishable) {
    return problem(403, "forbidden",
                   "A publishable key (dpk_...) only sends events and responses; this route needs the app's "
                   "secret token or the admin token.");
  }
  return std::nullopt;
}

std::optional<Response> check_content_type(const Route& route, const Request& req) {
  const auto& accepted = route.options.content_types;
  if (accepted.empty()) return std::nullopt;
  std::string_view type = media_type(req.header("Content-Type"));
  if (type.empty() && req.body.empty()) return std::nullopt;  // no body: the handler decides
  for (auto a : accepted) {
    if (iequals(a, type)) return std::nullopt;
  }
  std::string list;
  for (auto a : accepted) {
    if (!list.empty()) list += ", ";
    list += a;
  }
  return problem(415, "unsupported-media-type",
                 (type.empty() ? std::string("The request has no Content-Type")
                               : "Content-Type '" + std::string(type) + "' is not accepted") +
                     "; send " + list + ".");
}

std::optional<Response> check_content_encoding(const Route& route, const Request& req) {
  std::string_view encoding = req.header("Content-Encoding");
  if (encoding.empty() || iequals(encoding, "identity") || route.options.gzip) return std::nullopt;
  return problem(415, "unsupported-media-type", "This route takes no Content-Encoding; send the body uncompressed.",
                 {{"Content-Encoding", "is not accepted here"}});
}

}  // namespace

Response readers_busy_reply(ReaderPool::Outcome outcome) {
  Response r = problem(503, "readers-busy",
                       outcome == ReaderPool::Outcome::queue_full
                           ? "Too many heavy reads are waiting for a reader; retry shortly."
                           : "This read waited too long for a reader and was not run; retry shortly.");
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

boost::asio::awaitable<Response> respond_on_readers(ReaderPool* readers, std::function<Response()> read) {
  if (!readers) co_return read();
  Response response;
  auto outcome = co_await readers->run([&] { response = read(); });
  if (outcome != ReaderPool::Outcome::ran) co_return readers_busy_reply(outcome);
  response.stream_on_readers = static_cast<bool>(response.stream);
  co_return response;
}

Response Dispatcher::not_found_reply() { return problem(404, "not-found", "No route matches this path."); }

Response Dispatcher::unmatched_method_reply(const RoutePattern& pattern, const Request& req) const {
  bool pages_call_it = std::any_of(pattern.routes.begin(), pattern.routes.end(),
                                   [](const Route& route) { return route.options.publishable; });
  if (req.method == Method::options && pages_call_it) {
    std::string_view origin = req.header("Origin");
    return preflight_reply(origin, !origin.empty() && auth_.any_app_allows_origin(origin));
  }
  Response r =
      problem(405, "method-not-allowed", "This path does not accept that method; allowed: " + pattern.allow + ".");
  r.headers.emplace_back("Allow", pattern.allow);
  return r;
}

boost::asio::awaitable<Response> Dispatcher::dispatch(const Route& route, Request& req) {
  if (auto refusal = check_access(route, req, auth_)) co_return std::move(*refusal);
  std::string_view cors_origin;
  if (route.options.publishable) {
    auto origin = check_page_origin(req, auth_);
    if (auto* refusal = std::get_if<Response>(&origin)) co_return std::move(*refusal);
    cors_origin = std::get<std::string_view>(origin);
  }
  Response response = co_await dispatch_allowed(route, req);
  if (!cors_origin.empty()) add_cors_headers(response, cors_origin);
  co_return response;
}

boost::asio::awaitable<Response> Dispatcher::dispatch_allowed(const Route& route, Request& req) {
  if (auto refusal = check_content_type(route, req)) co_return std::move(*refusal);
  if (auto refusal = check_content_encoding(route, req)) co_return std::move(*refusal);

  if (static_cast<std::size_t>(metrics_.in_flight.fetch_add(1, std::memory_order_relaxed)) >= max_in_flight_) {
    metrics_.in_flight.fetch_sub(1, std::memory_order_relaxed);
    metrics_.rejected_overload.fetch_add(1, std::memory_order_relaxed);
    Response r = problem(503, "overloaded", "Too many requests are in progress; retry shortly.");
    r.headers.emplace_back("Retry-After", "1");
    co_return r;
  }
  struct InFlight {
    Metrics& m;
    ~InFlight() { m.in_flight.fetch_sub(1, std::memory_order_relaxed); }
  } in_flight{metrics_};

  Response response;
  bool failed = false;
  try {
    const auto* sync = std::get_if<SyncHandler>(&route.handler);
    if (sync && route.options.on_readers) {
      response = co_await respond_on_readers(readers_, [&] { return (*sync)(req); });
    } else if (sync) {
      response = (*sync)(req);
    } else {
      response = co_await std::get<AsyncHandler>(route.handler)(req);
    }
  } catch (const std::exception& e) {
    spdlog::error("msg=\"handler failed\" request_id={} route={} error={}", req.request_id, log_value(req.route),
                  log_value(e.what()));
    failed = true;
  }
  if (failed) {
    response = problem(500, "internal-error",
                       "The server failed to handle this request; it has been logged with the "
                       "request id " +
                           req.request_id + ".");
  }
  co_return response;
}

}  // namespace daisy::http
