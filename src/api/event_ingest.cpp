// POST /v1/events: apps send one event, a batch ({"events": [...]}) or NDJSON,
// optionally gzip-compressed. Every event is checked (envelope, then the JSON
// Schema of its type); accepted ones are stored and rejected ones logged in the
// same transaction, and the reply (202) is sent only after it commits.
#include <boost/json/array.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>

#include <deque>

#include "api/record_json.h"
#include "api/replies.h"
#include "jobs/job_runner.h"
#include "api/routes.h"
#include "events/events_state.h"
#include "http/json_body.h"
#include "util/ascii.h"
#include "util/gzip.h"
#include "util/ids.h"
#include "util/json_text.h"
#include "util/time.h"
#include "util/utf8.h"

namespace daisy::api {
namespace {

using http::Request;
using http::Response;
namespace json = boost::json;

// One event of the request body, parsed or not.
struct Item {
  const json::value* value = nullptr;  // into the parsed body, or into `owned` below
  std::string_view raw;                 // its text in the body, when known (NDJSON lines, single events)
  std::string parse_error;              // set when the text was not JSON
};

// Parsed documents that items point into; a deque keeps them in place as it grows.
using OwnedValues = std::deque<json::value>;

std::string too_many_detail(std::size_t max) {
  return "A batch holds at most " + std::to_string(max) + " events.";
}

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

std::string errors_text(const std::vector<FieldError>& errors) {
  return json::serialize(http::field_errors_json(errors));
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
    rejected_json.push_back(json::object{{"index", index}, {"errors", http::field_errors_json(errors)}});
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
boost::asio::awaitable<Response> log_then_reply(ApiContext& ctx, std::shared_ptr<EventBatch> batch,
                                               std::vector<RejectionReason> reasons, Response reply) {
  Status logged = co_await ctx.store.insert_events(batch);
  if (!logged.is_ok()) co_return store_failure(logged, "rejected event");
  for (RejectionReason reason : reasons) ctx.events->count_rejection(reason);
  co_return reply;
}

boost::asio::awaitable<Response> ingest(ApiContext& ctx, Request& req) {
  events::EventsState& state = *ctx.events;
  const events::EventSettings& settings = state.settings;
  if (!req.principal.is_app()) {
    co_return http::problem(403, "forbidden", "Events are sent with an app token, not the admin token.");
  }
  const std::string& app_id = req.principal.app_id;
  std::int64_t received = now_ns();
  auto batch = std::make_shared<EventBatch>();
  batch->rejection_cap = settings.rejection_cap;

  std::vector<RejectionReason> reasons;  // counted in /metrics once stored
  auto reject = [&](RejectionReason reason, const std::vector<FieldError>& errors, std::string_view raw) {
    RejectionRow& r = batch->rejections.emplace_back();
    r.app_id = app_id;
    r.received_ns = received;
    r.reason = rejection_reason_name(reason);
    r.errors = errors_text(errors);
    // Kept as valid UTF-8 (cut at a character, bad bytes replaced) so the log
    // always reads back as JSON.
    r.payload = sanitize_utf8(raw, settings.max_payload_bytes, r.truncated);
    reasons.push_back(reason);
  };

  std::string inflated;
  std::string_view body = req.body;
  std::string_view encoding = req.header("Content-Encoding");
  if (!encoding.empty() && !iequals(encoding, "identity")) {
    if (!iequals(encoding, "gzip")) {
      reject(RejectionReason::malformed, {{"", "unsupported Content-Encoding"}}, req.body);
      Response reply = http::problem(415, "unsupported-encoding",
                                     "Content-Encoding must be gzip or identity, not '" + std::string(encoding) + "'.");
      co_return co_await log_then_reply(ctx, batch, std::move(reasons), std::move(reply));
    }
    GunzipResult inflate = gunzip(req.body, settings.max_inflated_bytes, inflated);
    if (inflate != GunzipResult::ok) {
      Response refusal = inflate == GunzipResult::too_large
                             ? http::problem(413, "body-too-large",
                                             "The decompressed body exceeds " +
                                                 std::to_string(settings.max_inflated_bytes) + " bytes.")
                             : http::problem(400, "malformed-gzip", "The body is not a complete gzip stream.");
      reject(RejectionReason::malformed, {{"", "the body could not be decompressed"}}, req.body);
      co_return co_await log_then_reply(ctx, batch, std::move(reasons), std::move(refusal));
    }
    body = inflated;
  }

  // One arena for the whole request: the many small allocations of a parse are one.
  json::storage_ptr storage = json::make_shared_resource<json::monotonic_resource>();
  std::vector<Item> items;
  OwnedValues owned;
  bool is_batch = true;
  if (is_ndjson(req)) {
    parse_ndjson(body, storage, settings.max_batch_events + 1, items, owned);
  } else {
    auto parsed = http::parse_json_value(body, storage);
    if (auto* refusal = std::get_if<Response>(&parsed)) {
      // Nothing could be read: the whole body is one rejected event.
      reject(RejectionReason::malformed, {{"", "the body is not JSON"}}, body);
      Response reply = std::move(*refusal);
      co_return co_await log_then_reply(ctx, batch, std::move(reasons), std::move(reply));
    }
    const json::value& root = owned.emplace_back(std::move(std::get<json::value>(parsed)));
    const json::value* list = root.is_object() ? root.get_object().if_contains("events") : nullptr;
    if (list) {
      std::vector<FieldError> wrapper_errors;
      if (!list->is_array()) wrapper_errors.push_back({"events", "must be an array of events"});
      for (const auto& field : root.get_object()) {
        if (field.key() != "events") {
          wrapper_errors.push_back({std::string(field.key()), "is not a known field of a batch"});
        }
      }
      if (!wrapper_errors.empty()) {
        reject(RejectionReason::invalid, wrapper_errors, body);
        Response reply = http::validation_problem(wrapper_errors);
        co_return co_await log_then_reply(ctx, batch, std::move(reasons), std::move(reply));
      }
      // Refused before an item is built, so memory follows the limit.
      if (list->get_array().size() > settings.max_batch_events) {
        reject(RejectionReason::invalid, {{"events", too_many_detail(settings.max_batch_events)}}, body);
        Response reply = too_many_events(settings.max_batch_events);
        co_return co_await log_then_reply(ctx, batch, std::move(reasons), std::move(reply));
      }
      items.reserve(list->get_array().size());
      for (const auto& element : list->get_array()) items.push_back({&element, {}, {}});
    } else {
      is_batch = false;
      items.push_back({&root, body, {}});
    }
  }
  if (is_batch && items.empty()) {
    std::vector<FieldError> errors{{"events", "must hold at least one event"}};
    reject(RejectionReason::invalid, errors, body);
    Response reply = http::validation_problem(errors);
    co_return co_await log_then_reply(ctx, batch, std::move(reasons), std::move(reply));
  }
  if (items.size() > settings.max_batch_events) {  // NDJSON: parsing stopped one past the limit
    reject(RejectionReason::invalid, {{"events", too_many_detail(settings.max_batch_events)}}, body);
    Response reply = too_many_events(settings.max_batch_events);
    co_return co_await log_then_reply(ctx, batch, std::move(reasons), std::move(reply));
  }

  auto types = state.types.snapshot();
  bool reject_unknown = state.unknown_types.rejects(app_id);
  std::vector<std::string> ids;
  std::vector<std::pair<std::size_t, std::vector<FieldError>>> rejected;
  batch->events.reserve(items.size());
  std::string raw_text;
  std::string data_text;
  for (std::size_t i = 0; i < items.size(); ++i) {
    Item& item = items[i];
    std::vector<FieldError> errors;
    RejectionReason reason = RejectionReason::malformed;
    EventCheck check;
    data_text.clear();
    if (!item.parse_error.empty()) {
      errors.push_back({"", item.parse_error});
    } else {
      check = check_event(*item.value, received, settings.max_future_skew_ns);
      errors = std::move(check.errors);
      reason = check.reason;
      if (errors.empty()) {
        append_json(data_text, *check.event.data);
        if (data_text.size() > settings.max_data_bytes) {
          errors.push_back({"data", "must be at most " + std::to_string(settings.max_data_bytes) + " bytes of JSON"});
          reason = RejectionReason::invalid;
        }
      }
      if (errors.empty()) {
        const events::EventType* type = events::find_type(*types, check.event.category, check.event.name);
        if (type) {
          type->schema->validate(*check.event.data, errors);
          reason = RejectionReason::schema;
        } else if (reject_unknown) {
          errors.push_back({"name", "'" + check.event.category + "' / '" + check.event.name +
                                        "' is not a known event type, and this app refuses unknown types"});
          reason = RejectionReason::unknown_type;
        }
      }
    }
    if (!errors.empty()) {
      std::string_view raw = item.raw;
      if (raw.empty() && item.parse_error.empty()) {
        raw_text.clear();
        append_json(raw_text, *item.value);
        raw = raw_text;
      }
      reject(reason, errors, raw);
      rejected.emplace_back(i, std::move(errors));
      continue;
    }
    EventRow& row = batch->events.emplace_back();
    row.id = new_uuid_v7();
    row.app_id = app_id;
    row.session_id = std::move(check.event.session_id);
    row.category = std::move(check.event.category);
    row.name = std::move(check.event.name);
    row.ts_ns = check.event.timestamp_ns;
    row.data = data_text;
    row.received_ns = received;
    ids.push_back(row.id);
  }

  std::vector<jobs::TriggeredAction> actions;
  if (ctx.integrations && ctx.integrations->any_for(app_id)) {
    std::string payload;
    for (const EventRow& row : batch->events) {
      payload.clear();
      append_event(payload, row);
      ctx.integrations->add_jobs(app_id, trigger_event_created, row.id, {.json = payload}, batch->jobs, &actions);
    }
  }
  Status status = co_await ctx.store.insert_events(batch);
  if (!status.is_ok()) co_return store_failure(status, "events");
  if (!actions.empty() && ctx.job_runner) ctx.job_runner->wake();
  for (RejectionReason reason : reasons) state.count_rejection(reason);
  // Sync integrations answer within a single event's request (a batch would
  // make one call per event: they are not called for batches).
  if (!is_batch && !batch->events.empty() && ctx.integrations && ctx.job_runner) {
    auto sync = ctx.integrations->sync_for(app_id, trigger_event_created);
    if (!sync.empty()) {
      std::string payload;
      append_event(payload, batch->events.front());
      auto answered = co_await ctx.job_runner->call_sync(std::move(sync), std::string(trigger_event_created),
                                                         batch->events.front().id, std::move(payload));
      actions.insert(actions.end(), answered.begin(), answered.end());
    }
  }
  if (!is_batch) {
    co_return single_reply(ids.empty() ? std::string() : ids.front(),
                           rejected.empty() ? std::vector<FieldError>{} : rejected.front().second, actions);
  }
  co_return batch_reply(ids, rejected, actions);
}

}  // namespace

void register_event_ingest_routes(http::Router& router, ApiContext& ctx) {
  http::RouteOptions options;
  options.batch = true;
  options.content_types = {"application/json", "application/x-ndjson"};
  options.gzip = true;
  router.add(http::Method::post, "/v1/events", http::Access::app_or_admin,
             http::AsyncHandler([&ctx](Request& req) { return ingest(ctx, req); }), options);
}

}  // namespace daisy::api
