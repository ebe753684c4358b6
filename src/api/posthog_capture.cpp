// PostHog's capture API (POST /capture and POST /batch), so that a site
// already using posthog-js or a PostHog server library can point it at
// Daisy. Its api_key is the app's publishable key. Each PostHog event becomes
// a Daisy event, then goes through the same checks and storage as
// POST /v1/events (events/ingest.h):
//   category   "posthog"
//   name       event ("$pageview", "signed up", ...)
//   id         uuid, when given (a retry is stored once)
//   session_id properties.$session_id when it is a UUID, else a UUID named
//              by the app and distinct_id (one session per person)
//   timestamp  timestamp, else the time of arrival
//   data       properties, with distinct_id added when they lack it
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>

#include <deque>

#include "api/publishable_key_limits.h"
#include "api/replies.h"
#include "api/routes.h"
#include "events/ingest.h"
#include "http/cors.h"
#include "http/json_body.h"
#include "util/ascii.h"
#include "util/gzip.h"
#include "util/ids.h"
#include "util/time.h"

namespace daisy::api {
namespace {

using http::Request;
using http::Response;
namespace json = boost::json;

constexpr std::string_view posthog_category = "posthog";

std::string_view string_or_empty(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

// The Daisy envelope of one PostHog event (checked later like any event).
json::value daisy_event(const json::value& sent, const std::string& app_id, const json::storage_ptr& storage) {
  json::object event(storage);
  if (!sent.is_object()) return json::value(sent, storage);  // refused by the envelope check, kept as sent
  const json::object& in = sent.get_object();
  json::object data(storage);
  if (const json::value* p = in.if_contains("properties"); p && p->is_object())
    data = json::object(p->get_object(), storage);
  std::string distinct_id(string_or_empty(in, "distinct_id"));
  if (distinct_id.empty()) distinct_id = string_or_empty(data, "distinct_id");
  if (!distinct_id.empty() && !data.contains("distinct_id")) data["distinct_id"] = distinct_id;
  std::string_view session = string_or_empty(data, "$session_id");
  event["session_id"] =
      is_uuid(session) ? std::string(session) : name_based_uuid("posthog:" + app_id + ":" + distinct_id);
  event["category"] = posthog_category;
  if (const json::value* name = in.if_contains("event")) event["name"] = *name;
  std::string_view uuid = string_or_empty(in, "uuid");
  if (!uuid.empty()) event["id"] = uuid;
  std::string_view timestamp = string_or_empty(in, "timestamp");
  event["timestamp"] = timestamp.empty() ? format_utc_ns(now_ns()) : std::string(timestamp);
  event["data"] = std::move(data);
  return event;
}

// The caller: the publishable key in api_key (or an Authorization header).
std::optional<Response> authenticate(ApiContext& ctx, Request& req, const json::object& body) {
  std::string_view key = string_or_empty(body, "api_key");
  auto outcome = key.empty() ? ctx.auth.authenticate(req.header("Authorization"), req.principal)
                             : ctx.auth.authenticate_publishable_key(key, req.principal);
  if (outcome == Authenticator::Outcome::ok && req.principal.is_publishable()) return std::nullopt;
  req.principal = Principal{};
  return http::problem(401, "unauthorized", "api_key must be the app's publishable key (dpk_...).",
                       {{"api_key", key.empty() ? "is required" : "is not a known publishable key"}});
}

boost::asio::awaitable<Response> capture(ApiContext& ctx, Request& req, bool batch) {
  const events::EventSettings& settings = ctx.events->settings;
  std::string inflated;
  std::string_view body = req.body;
  std::string_view encoding = req.header("Content-Encoding");
  if (iequals(encoding, "gzip") || req.query_param("compression").value_or("") == "gzip-js") {
    if (gunzip(req.body, settings.max_inflated_bytes, inflated) != GunzipResult::ok) {
      co_return http::problem(400, "malformed-gzip", "The body is not a complete gzip stream within the size limit.");
    }
    body = inflated;
  }
  json::storage_ptr storage = json::make_shared_resource<json::monotonic_resource>();
  auto parsed = http::parse_json_value(body, storage);
  if (auto* refusal = std::get_if<Response>(&parsed)) co_return std::move(*refusal);
  const json::value& root = std::get<json::value>(parsed);
  if (!root.is_object()) co_return http::validation_problem({{"", "the body must be a JSON object"}});
  const json::object& o = root.get_object();
  if (auto refusal = authenticate(ctx, req, o)) co_return std::move(*refusal);
  auto origin = http::check_page_origin(req, ctx.auth);
  if (auto* refusal = std::get_if<Response>(&origin)) co_return std::move(*refusal);

  std::deque<json::value> owned;
  std::vector<events::SentEvent> items;
  if (batch) {
    const json::value* list = o.if_contains("batch");
    if (!list || !list->is_array() || list->get_array().empty()) {
      co_return http::validation_problem({{"batch", "must be a non-empty array of events"}});
    }
    if (list->get_array().size() > settings.max_batch_events) {
      co_return http::problem(413, "too-many-events",
                              "A batch holds at most " + std::to_string(settings.max_batch_events) + " events.");
    }
    for (const auto& e : list->get_array()) owned.push_back(daisy_event(e, req.principal.app_id, storage));
  } else {
    owned.push_back(daisy_event(root, req.principal.app_id, storage));
  }
  for (const auto& v : owned) items.push_back({&v, {}, {}});
  if (auto refusal = refuse_over_rate(ctx, req.principal, static_cast<std::int64_t>(items.size()))) {
    co_return std::move(*refusal);
  }
  events::EventIngest ingestion({ctx.store, *ctx.events, ctx.integrations, ctx.job_runner, ctx.live},
                                req.principal.app_id);
  events::IngestResult result = co_await ingestion.ingest(items, !batch);
  if (!result.status.is_ok()) co_return store_failure(result.status, "events");
  json::array rejected;
  for (const auto& [index, errors] : result.rejected) {
    rejected.push_back(json::object{{"index", index}, {"errors", field_errors_json(errors)}});
  }
  Response reply;
  if (result.ids.empty()) {
    json::object problem = http::problem_body(422, "events-rejected", "No event was accepted.");
    problem["rejected"] = std::move(rejected);
    reply = Response(422, json::serialize(problem), "application/problem+json");
  } else {
    json::array ids;
    for (const auto& id : result.ids) ids.push_back(json::string(id));
    // PostHog's clients read "status": 1 as success.
    reply = Response(200, json::serialize(json::object{{"status", 1},
                                                       {"accepted", result.ids.size()},
                                                       {"ids", std::move(ids)},
                                                       {"rejected", std::move(rejected)}}));
  }
  if (auto allowed = std::get<std::string_view>(origin); !allowed.empty()) http::add_cors_headers(reply, allowed);
  co_return reply;
}

}  // namespace

void register_posthog_routes(http::Router& router, ApiContext& ctx) {
  http::RouteOptions options;
  options.batch = true;
  options.content_types = {"application/json", "text/plain"};
  options.gzip = true;
  options.publishable = true;
  router.add(http::Method::post, "/capture", http::Access::public_,
             http::AsyncHandler([&ctx](Request& req) { return capture(ctx, req, false); }), options);
  router.add(http::Method::post, "/batch", http::Access::public_,
             http::AsyncHandler([&ctx](Request& req) { return capture(ctx, req, true); }), options);
}

}  // namespace daisy::api
