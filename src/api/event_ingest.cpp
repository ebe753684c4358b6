// POST /v1/events: apps send one event, a batch ({"events": [...]}) or NDJSON,
// optionally gzip-compressed. Every event is checked (envelope, then the JSON
// Schema of its type); accepted ones are stored and rejected ones logged in the
// same transaction, and the reply (202) is sent only after it commits.
#include <boost/json/array.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>

#include <deque>
#include <optional>
#include <variant>

#include "api/publishable_key_limits.h"
#include "api/replies.h"
#include "api/routes.h"
#include "events/ingest.h"
#include "http/json_body.h"
#include "util/ascii.h"
#include "util/gzip.h"

namespace daisy::api {
namespace {

using http::Request;
using http::Response;
namespace json = boost::json;

using Item = events::SentEvent;

// Parsed documents that items point into; a deque keeps them in place as it grows.
using OwnedValues = std::deque<json::value>;

std::string too_many_detail(std::size_t max) { return "A batch holds at most " + std::to_string(max) + " events."; }

Response too_many_events(std::size_t max) { return http::problem(413, "too-many-events", too_many_detail(max)); }

bool is_ndjson(const Request& req) {
  std::string_view type = req.header("Content-Type");
  std::string_view media = type.substr(0, type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  return iequals(media, "application/x-ndjson");
}

// Splits NDJSON into items; blank lines are skipped. Stops after max_items
// (the caller refuses a body that reaches it), so memory follows the limit.
void parse_ndjson(std::string_view body, const json::storage_ptr& storage, std::size_t max_items,
                  std::vector<Item>& items, OwnedValues& owned) {
  std::size_t line_number = 0;
  json::parser parser;
  while (!body.empty() && items.size() < max_items) {
    std::size_t end = body.find('\n');
    std::string_view line = body.substr(0, end);
    body = end == std::string_view::npos ? std::string_view() : body.substr(end + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    Item& item = items.emplace_back();
    item.raw = line;
    boost::system::error_code ec;
    parser.reset(storage);
    parser.write(line.data(), line.size(), ec);
    if (!ec) item.value = &owned.emplace_back(parser.release());
    if (ec) item.parse_error = "line " + std::to_string(line_number) + " is not JSON: " + ec.message();
  }
}

Response single_reply(const std::string& id, const std::vector<FieldError>& errors,
                      const std::vector<jobs::TriggeredAction>& actions) {
  if (!errors.empty()) return http::validation_problem(errors, "The event was rejected.");
  std::string body = "{\"id\":\"";
  body += id;
  body += "\"}";
  append_actions(body, actions);
  return Response(202, std::move(body));
}

Response batch_reply(const std::vector<std::string>& ids,
                     const std::vector<std::pair<std::size_t, std::vector<FieldError>>>& rejected,
                     const std::vector<jobs::TriggeredAction>& actions) {
  json::array rejected_json;
  for (const auto& [index, errors] : rejected) {
    rejected_json.push_back(json::object{{"index", index}, {"errors", field_errors_json(errors)}});
  }
  json::array ids_json;
  for (const auto& id : ids) ids_json.push_back(json::string(id));
  if (ids.empty()) {
    json::object body = http::problem_body(422, "events-rejected", "No event of the batch was accepted.");
    body["accepted"] = 0;
    body["ids"] = std::move(ids_json);
    body["rejected"] = std::move(rejected_json);
    return Response(422, json::serialize(body), "application/problem+json");
  }
  json::object body{{"accepted", ids.size()}, {"ids", std::move(ids_json)}, {"rejected", std::move(rejected_json)}};
  std::string text = json::serialize(body);
  append_actions(text, actions);
  return Response(202, std::move(text));
}

// Stores what a request rejected (and nothing else), then answers `reply`.
boost::asio::awaitable<Response> log_then_reply(events::EventIngest& ingest, Response reply) {
  Status logged = co_await ingest.store_rejections();
  if (!logged.is_ok()) co_return store_failure(logged, "rejected event");
  co_return reply;
}

// The body as sent, or inflated into `inflated` when gzip-encoded. A
// refusal when it cannot be read (the rejection is recorded in `ingestion`).
std::variant<std::string_view, Response> decoded_body(const Request& req, const events::EventSettings& settings,
                                                      events::EventIngest& ingestion, std::string& inflated) {
  std::string_view encoding = req.header("Content-Encoding");
  if (encoding.empty() || iequals(encoding, "identity")) return std::string_view(req.body);
  if (!iequals(encoding, "gzip")) {
    ingestion.reject(RejectionReason::malformed, {{"", "unsupported Content-Encoding"}}, req.body);
    return http::problem(415, "unsupported-encoding",
                         "Content-Encoding must be gzip or identity, not '" + std::string(encoding) + "'.");
  }
  GunzipResult inflate = gunzip(req.body, settings.max_inflated_bytes, inflated);
  if (inflate == GunzipResult::ok) return std::string_view(inflated);
  ingestion.reject(RejectionReason::malformed, {{"", "the body could not be decompressed"}}, req.body);
  if (inflate == GunzipResult::too_large) {
    return http::problem(413, "body-too-large",
                         "The decompressed body exceeds " + std::to_string(settings.max_inflated_bytes) + " bytes.");
  }
  return http::problem(400, "malformed-gzip", "The body is not a complete gzip stream.");
}

// The events of a JSON body: one event, or a batch ({"events": [...]}), into
// `items` (pointing into `owned`); single is set for one event. A refusal
// when the body as a whole is unreadable or not a valid batch (the rejection
// is recorded in `ingestion`).
std::optional<Response> read_json_events(std::string_view body, const events::EventSettings& settings,
                                         const json::storage_ptr& storage, events::EventIngest& ingestion,
                                         std::vector<Item>& items, OwnedValues& owned, bool& single) {
  auto parsed = http::parse_json_value(body, storage);
  if (auto* refusal = std::get_if<Response>(&parsed)) {
    // Nothing could be read: the whole body is one rejected event.
    ingestion.reject(RejectionReason::malformed, {{"", "the body is not JSON"}}, body);
    return std::move(*refusal);
  }
  const json::value& root = owned.emplace_back(std::move(std::get<json::value>(parsed)));
  const json::value* list = root.is_object() ? root.get_object().if_contains("events") : nullptr;
  if (!list) {
    single = true;
    items.push_back({&root, body, {}});
    return std::nullopt;
  }
  std::vector<FieldError> wrapper_errors;
  if (!list->is_array()) wrapper_errors.push_back({"events", "must be an array of events"});
  for (const auto& field : root.get_object()) {
    if (field.key() != "events")
      wrapper_errors.push_back({std::string(field.key()), "is not a known field of a batch"});
  }
  if (!wrapper_errors.empty()) {
    ingestion.reject(RejectionReason::invalid, wrapper_errors, body);
    return http::validation_problem(wrapper_errors);
  }
  // Refused before an item is built, so memory follows the limit.
  if (list->get_array().size() > settings.max_batch_events) {
    ingestion.reject(RejectionReason::invalid, {{"events", too_many_detail(settings.max_batch_events)}}, body);
    return too_many_events(settings.max_batch_events);
  }
  items.reserve(list->get_array().size());
  for (const auto& element : list->get_array()) items.push_back({&element, {}, {}});
  return std::nullopt;
}

// The events of the body, JSON or NDJSON, with read_json_events's contract;
// a batch that holds no event, or too many, is refused too.
std::optional<Response> read_events(const Request& req, std::string_view body, const events::EventSettings& settings,
                                    const json::storage_ptr& storage, events::EventIngest& ingestion,
                                    std::vector<Item>& items, OwnedValues& owned, bool& single) {
  single = false;
  if (is_ndjson(req)) {
    parse_ndjson(body, storage, settings.max_batch_events + 1, items, owned);
  } else if (auto refusal = read_json_events(body, settings, storage, ingestion, items, owned, single)) {
    return refusal;
  }
  if (!single && items.empty()) {
    std::vector<FieldError> errors{{"events", "must hold at least one event"}};
    ingestion.reject(RejectionReason::invalid, errors, body);
    return http::validation_problem(errors);
  }
  if (items.size() > settings.max_batch_events) {  // NDJSON: parsing stopped one past the limit
    ingestion.reject(RejectionReason::invalid, {{"events", too_many_detail(settings.max_batch_events)}}, body);
    return too_many_events(settings.max_batch_events);
  }
  return std::nullopt;
}

boost::asio::awaitable<Response> ingest(ApiContext& ctx, Request& req) {
  const events::EventSettings& settings = ctx.events->settings;
  if (!req.principal.acts_for_app()) {
    co_return http::problem(403, "forbidden", "Events are sent with an app token, not the admin token.");
  }
  events::EventIngest ingestion({ctx.store, *ctx.events, ctx.integrations, ctx.job_runner, ctx.live},
                                req.principal.app_id);
  std::string inflated;
  auto body = decoded_body(req, settings, ingestion, inflated);
  if (auto* refusal = std::get_if<Response>(&body)) co_return co_await log_then_reply(ingestion, std::move(*refusal));

  // One arena for the whole request: the many small allocations of a parse are one.
  json::storage_ptr storage = json::make_shared_resource<json::monotonic_resource>();
  std::vector<Item> items;
  OwnedValues owned;
  bool single = false;
  if (auto refusal =
          read_events(req, std::get<std::string_view>(body), settings, storage, ingestion, items, owned, single)) {
    co_return co_await log_then_reply(ingestion, std::move(*refusal));
  }
  // Refused before anything is stored (not even as rejections: a flood
  // would fill the log).
  if (auto refusal = refuse_over_rate(ctx, req.principal, static_cast<std::int64_t>(items.size()))) {
    co_return std::move(*refusal);
  }

  events::IngestResult result = co_await ingestion.ingest(items, single);
  if (!result.status.is_ok()) co_return store_failure(result.status, "events");
  if (single) {
    co_return single_reply(result.ids.empty() ? std::string() : result.ids.front(),
                           result.rejected.empty() ? std::vector<FieldError>{} : result.rejected.front().second,
                           result.actions);
  }
  co_return batch_reply(result.ids, result.rejected, result.actions);
}

}  // namespace

void register_event_ingest_routes(http::Router& router, ApiContext& ctx) {
  http::RouteOptions options;
  options.batch = true;
  // text/plain: navigator.sendBeacon's JSON, which avoids a preflight.
  options.content_types = {"application/json", "application/x-ndjson", "text/plain"};
  options.gzip = true;
  options.publishable = true;
  options.key_in_query = true;
  router.add(http::Method::post, "/v1/events", http::Access::app_or_admin,
             http::AsyncHandler([&ctx](Request& req) { return ingest(ctx, req); }), options);
}

}  // namespace daisy::api
