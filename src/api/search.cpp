// GET /search: the Fever Providers API over every provider's searchable plans,
// answered from the in-memory index (never from a provider). Public. Errors on
// this route keep Fever's shape, {"data": null, "error": {"code", "message"}},
// not problem+json.
#include "api/routes.h"
#include "feeds/feed_service.h"
#include "util/iso8601.h"
#include "util/json_text.h"

namespace daisy::api {
namespace {

using http::Request;
using http::Response;

constexpr std::size_t search_part_bytes = 64 * 1024;

Response fever_error(int status, std::string_view code, std::string_view message) {
  std::string body = "{\"data\":null,\"error\":{\"code\":";
  append_json_string(body, code);
  body += ",\"message\":";
  append_json_string(body, message);
  body += "}}";
  return Response(status, std::move(body));
}

// A bound in Unix seconds: an ISO 8601 date-time (no offset means UTC) or a
// date (its midnight, UTC). Fractions of a second round inwards: a start
// bound up, an end bound down.
std::optional<std::int64_t> read_bound(std::string text, bool is_start) {
  // An unencoded '+' of an offset arrives as a space (form encoding): after
  // the time (a space at 10 separates date and time), it can only be that.
  if (auto space = text.rfind(' '); space != std::string::npos && space > 10) text[space] = '+';
  std::optional<std::int64_t> ns;
  if (text.size() == 10) {
    if (!parse_date(text)) return std::nullopt;
    ns = parse_timestamp_ns(text + "T00:00:00Z");
  } else {
    ns = parse_timestamp_ns(text);
  }
  if (!ns) return std::nullopt;
  std::int64_t seconds = *ns / 1'000'000'000;
  std::int64_t rest = *ns % 1'000'000'000;
  if (rest < 0) rest += 1'000'000'000, --seconds;
  if (is_start && rest > 0) ++seconds;
  return seconds;
}

Response search(ApiContext& ctx, Request& req) {
  std::optional<std::int64_t> from, to;
  for (auto [name, is_start] : {std::pair{"starts_at", true}, std::pair{"ends_at", false}}) {
    auto value = req.query_param(name);
    if (!value || value->empty()) continue;
    auto bound = read_bound(*value, is_start);
    if (!bound) {
      return fever_error(400, "invalid_parameter",
                         std::string(name) + " must be an ISO 8601 date-time such as 2024-03-08T20:30:00Z");
    }
    (is_start ? from : to) = bound;
  }
  // Small replies go out whole; a large one is written part by part as the
  // client reads it, so a client that stops reading holds one part.
  auto reply = std::make_shared<feeds::SearchIndex::Reply>(ctx.feeds->search_index().snapshot(), from, to);
  Response r(200, {});
  if (!reply->next(r.body, search_part_bytes)) return r;
  r.stream = [reply, first = std::move(r.body)](std::string& out) mutable {
    if (!first.empty()) {
      out = std::move(first);
      first.clear();
      return true;
    }
    bool more = reply->next(out, search_part_bytes);
    if (!more) out.push_back('\n');  // as every JSON reply ends (see http/server.cpp)
    return more;
  };
  r.body.clear();
  return r;
}

}  // namespace

void register_search_routes(http::Router& router, ApiContext& ctx) {
  using http::Access;
  using http::Method;
  // On the I/O thread, not the readers: it reads an immutable snapshot in
  // memory (microseconds; a large reply streams in 64 KiB parts), and the hop
  // to a reader cost it 30% of its rate (docs/benchmarks.md, 2026-12-05).
  router.add(Method::get, "/search", Access::public_,
             http::SyncHandler([&ctx](Request& req) { return search(ctx, req); }));
  // Other methods answer in Fever's error shape too.
  for (Method m : {Method::post, Method::put, Method::patch, Method::del}) {
    router.add(m, "/search", Access::public_, http::SyncHandler([](Request&) {
                 Response r = fever_error(405, "method_not_allowed", "/search answers GET only");
                 r.headers.emplace_back("Allow", "GET, HEAD");
                 return r;
               }));
  }
}

}  // namespace daisy::api
