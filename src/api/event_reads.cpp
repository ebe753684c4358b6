// Reading events: GET /v1/events (filters, cursor), GET /v1/sessions/{id} and
// the rejections log GET /v1/events/rejections (admin). An app token sees only
// its own app's events.
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include <charconv>

#include "api/replies.h"
#include "api/routes.h"
#include "store/record_json.h"
#include "util/ids.h"
#include "util/iso8601.h"
#include "util/json_text.h"
#include "util/time.h"

namespace daisy::api {
namespace {

using http::Request;
using http::Response;
namespace json = boost::json;

constexpr std::size_t default_session_limit = 1000;

std::string event_cursor(const EventRow& e) { return std::to_string(e.ts_ns) + "_" + std::to_string(e.seq); }

std::optional<std::pair<std::int64_t, std::int64_t>> parse_event_cursor(std::string_view s) {
  auto sep = s.find('_');
  if (sep == std::string_view::npos) return std::nullopt;
  std::int64_t ts = 0, seq = 0;
  auto a = std::from_chars(s.data(), s.data() + sep, ts);
  auto b = std::from_chars(s.data() + sep + 1, s.data() + s.size(), seq);
  if (a.ec != std::errc{} || a.ptr != s.data() + sep || b.ec != std::errc{} || b.ptr != s.data() + s.size()) {
    return std::nullopt;
  }
  return std::make_pair(ts, seq);
}

// ?since= and ?until= as nanoseconds; appends an error when malformed.
void read_time_bounds(const Request& req, std::optional<std::int64_t>& since, std::optional<std::int64_t>& until,
                      std::vector<FieldError>& errors) {
  for (auto [name, target] : {std::pair{"since", &since}, std::pair{"until", &until}}) {
    auto value = req.query_param(name);
    if (!value) continue;
    *target = parse_timestamp_ns(*value);
    if (!*target) errors.push_back({name, "must be an ISO 8601 timestamp such as 2021-01-01T09:15:27Z"});
  }
}

std::optional<std::string> read_session_id(std::string_view raw, std::vector<FieldError>& errors, const char* field) {
  if (!is_uuid(raw)) {
    errors.push_back({field, "must be a UUID"});
    return std::nullopt;
  }
  return lower_case_uuid(raw);
}

// The app whose events a caller may read: an app token is held to its own.
std::optional<Response> scope_to_caller(const Request& req, std::string& app_id) {
  if (!req.principal.is_app()) return std::nullopt;
  if (!app_id.empty() && app_id != req.principal.app_id) {
    return http::problem(403, "forbidden", "An app token reads only its own app's events.");
  }
  app_id = req.principal.app_id;
  return std::nullopt;
}

// The reply is built in memory: a page stops early past this size (events
// carry up to 64 KiB of data each), with next_cursor set to go on.
constexpr std::size_t max_page_bytes = 8 * 1024 * 1024;

// prefix: the reply up to the list, e.g. "{"; key: the list's name.
Response events_page(Result<std::vector<EventRow>>& rows, std::size_t limit, std::string prefix,
                     std::string_view key = "items") {
  if (!rows.is_ok()) return store_failure(rows.status(), "events");
  const auto& events = rows.value();
  std::string body = std::move(prefix);
  body += '"';
  body += key;
  body += "\":[";
  std::size_t written = 0;
  while (written < events.size() && (written == 0 || body.size() < max_page_bytes)) {
    if (written) body += ',';
    append_event(body, events[written++]);
  }
  body += "],\"next_cursor\":";
  if (written > 0 && (written < events.size() || events.size() == limit)) {
    body += '"' + event_cursor(events[written - 1]) + '"';
  } else {
    body += "null";
  }
  body += '}';
  return Response(200, std::move(body));
}

// Fills the filter's page fields from ?limit= and ?after=.
std::optional<Response> read_page(const Request& req, EventFilter& filter, std::size_t default_limit,
                                  std::vector<FieldError>& errors) {
  auto page = page_from_query(req);
  if (auto* refusal = std::get_if<Response>(&page)) return std::move(*refusal);
  const Page& p = std::get<Page>(page);
  filter.limit = req.query_param("limit") ? p.limit : default_limit;
  if (!p.after.empty()) {
    filter.after = parse_event_cursor(p.after);
    if (!filter.after) errors.push_back({"after", "is not a cursor returned by this API (next_cursor)"});
  }
  return std::nullopt;
}

Response list_events(ApiContext& ctx, Request& req) {
  EventFilter filter;
  std::vector<FieldError> errors;
  if (auto refusal = read_page(req, filter, 100, errors)) return std::move(*refusal);
  if (auto session = req.query_param("session_id")) {
    if (auto id = read_session_id(*session, errors, "session_id")) filter.session_id = *id;
  }
  for (auto [name, target] : {std::pair{"category", &filter.category}, std::pair{"name", &filter.name},
                              std::pair{"app_id", &filter.app_id}}) {
    if (auto value = req.query_param(name)) *target = *value;
  }
  read_time_bounds(req, filter.since_ns, filter.until_ns, errors);
  if (!errors.empty()) return http::validation_problem(std::move(errors), "Invalid query parameter.");
  if (auto refusal = scope_to_caller(req, filter.app_id)) return std::move(*refusal);
  auto rows = ctx.store.list_events(filter);
  return events_page(rows, filter.limit, "{");
}

Response get_session(ApiContext& ctx, Request& req) {
  EventFilter filter;
  std::vector<FieldError> errors;
  if (auto refusal = read_page(req, filter, default_session_limit, errors)) return std::move(*refusal);
  if (auto id = read_session_id(req.param(0), errors, "session_id")) filter.session_id = *id;
  if (!errors.empty()) return http::validation_problem(std::move(errors), "Invalid session or query parameter.");
  if (auto refusal = scope_to_caller(req, filter.app_id)) return std::move(*refusal);
  auto rows = ctx.store.list_events(filter);
  if (!rows.is_ok()) return store_failure(rows.status(), "session " + filter.session_id);
  // A first page that holds the whole session is its own summary: one query
  // instead of two for nearly every session.
  Result<SessionSummary> summary = SessionSummary{};
  const auto& events = rows.value();
  if (!filter.after && events.size() < filter.limit) {
    if (events.empty()) return store_failure(Status::not_found("session"), "session " + filter.session_id);
    summary = SessionSummary{static_cast<std::int64_t>(events.size()), events.front().ts_ns, events.back().ts_ns};
  } else {
    summary = ctx.store.session_summary(filter.session_id, filter.app_id);
    if (!summary.is_ok()) return store_failure(summary.status(), "session " + filter.session_id);
  }
  std::string prefix = "{\"session_id\":\"" + filter.session_id +
                       "\",\"count\":" + std::to_string(summary.value().count) + ",\"first_timestamp\":\"" +
                       format_utc_ns(summary.value().first_ns) + "\",\"last_timestamp\":\"" +
                       format_utc_ns(summary.value().last_ns) + "\",";
  return events_page(rows, filter.limit, std::move(prefix), "events");
}

Response list_rejections(ApiContext& ctx, Request& req) {
  auto page = page_from_query(req);
  if (auto* refusal = std::get_if<Response>(&page)) return std::move(*refusal);
  const Page& p = std::get<Page>(page);
  RejectionFilter filter;
  filter.limit = p.limit;
  std::vector<FieldError> errors;
  if (auto after = seq_cursor(p)) {
    filter.after_seq = *after;
  } else {
    errors.push_back({"after", "is not a cursor returned by this API (next_cursor)"});
  }
  if (auto app = req.query_param("app_id")) filter.app_id = *app;
  read_time_bounds(req, filter.since_ns, filter.until_ns, errors);
  if (!errors.empty()) return http::validation_problem(std::move(errors), "Invalid query parameter.");
  auto rows = ctx.store.list_rejections(filter);
  if (!rows.is_ok()) return store_failure(rows.status(), "rejections");
  json::array items;
  for (const auto& r : rows.value()) items.push_back(rejection_json(r));
  std::string last = rows.value().empty() ? std::string() : std::to_string(rows.value().back().seq);
  return json_reply(200, page_body(std::move(items), p, std::move(last)));
}

}  // namespace

void register_event_read_routes(http::Router& router, ApiContext& ctx) {
  using http::Access;
  using http::Method;
  router.add(Method::get, "/v1/events", Access::app_or_admin,
             http::SyncHandler([&ctx](Request& req) { return list_events(ctx, req); }), http::heavy_read());
  router.add(Method::get, "/v1/events/rejections", Access::admin,
             http::SyncHandler([&ctx](Request& req) { return list_rejections(ctx, req); }), http::heavy_read());
  router.add(Method::get, "/v1/sessions/{session_id}", Access::app_or_admin,
             http::SyncHandler([&ctx](Request& req) { return get_session(ctx, req); }), http::heavy_read());
}

}  // namespace daisy::api
