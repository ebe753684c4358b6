// /v1/event-types: the JSON Schemas that events' data must satisfy, by
// (category, name); admin only. A schema is compiled before it is stored, so
// a broken one is refused with 422 and never reaches the ingest path.
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include <charconv>
#include <optional>

#include "api/replies.h"
#include "api/routes.h"
#include "events/events_state.h"
#include "http/json_body.h"
#include "util/crypto.h"
#include "util/json_text.h"
#include "util/time.h"
#include "util/utf8.h"

namespace daisy::api {
namespace {

using http::Request;
using http::Response;
namespace json = boost::json;

constexpr std::size_t max_schema_bytes = 64 * 1024;

json::object type_json(const EventTypeRow& row) {
  json::value schema;
  try {
    schema = json::parse(row.schema);
  } catch (const std::exception&) {
    schema = row.schema;
  }
  return {{"category", row.category},
          {"name", row.name},
          {"schema", std::move(schema)},
          {"created_at", row.created_at},
          {"updated_at", row.updated_at}};
}

void check_key(std::string_view field, const std::string& value, std::vector<FieldError>& errors) {
  bool cut = false;
  if (sanitize_utf8(value, value.size(), cut) != value) {
    errors.push_back({std::string(field), "must be UTF-8 text (percent-encoded in the path)"});
    return;
  }
  if (value.empty()) errors.push_back({std::string(field), "must not be empty"});
  if (utf8_length(value) > max_event_name_length)
    errors.push_back({std::string(field), "must be at most 128 characters"});
}

// Pages in (category, name) order. The cursor is the last key of the page,
// hex-encoded "category NUL name": opaque to clients, any text inside.
Response list_types(ApiContext& ctx, Request& req) {
  std::size_t limit = 50;
  if (auto text = req.query_param("limit")) {
    int value = 0;
    auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc{} || ptr != text->data() + text->size() || value < 1 || value > 1000) {
      return http::validation_problem({{"limit", "must be an integer from 1 to 1000"}}, "Invalid query parameter.");
    }
    limit = static_cast<std::size_t>(value);
  }
  std::optional<EventTypeKey> after;
  if (auto cursor = req.query_param("after"); cursor && !cursor->empty()) {
    std::string raw = cursor->size() <= 4 * 1024 ? from_hex(*cursor) : std::string();
    auto nul = raw.find('\0');
    if (nul == std::string::npos) {
      return http::validation_problem({{"after", "must be a next_cursor from an earlier page"}},
                                      "Invalid query parameter.");
    }
    after = EventTypeKey{raw.substr(0, nul), raw.substr(nul + 1)};
  }
  auto rows = ctx.store.list_event_types(after ? &*after : nullptr, limit);
  if (!rows.is_ok()) return store_failure(rows.status(), "event types");
  json::array items;
  for (const auto& row : rows.value()) items.push_back(type_json(row));
  json::object body{{"items", std::move(items)}, {"next_cursor", nullptr}};
  if (rows.value().size() == limit) {
    const EventTypeRow& last = rows.value().back();
    body["next_cursor"] = to_hex(last.category + std::string(1, '\0') + last.name);
  }
  return json_reply(200, std::move(body));
}

Response get_type(ApiContext& ctx, Request& req) {
  auto types = ctx.events->types.snapshot();
  const events::EventType* type = events::find_type(*types, req.param(0), req.param(1));
  if (!type) return http::not_found("event type '" + req.param(0) + "' / '" + req.param(1) + "'");
  return json_reply(200, type_json(type->row));
}

boost::asio::awaitable<Response> put_type(ApiContext& ctx, Request& req) {
  auto parsed = http::parse_body_object(req);
  if (auto* refusal = std::get_if<Response>(&parsed)) co_return std::move(*refusal);
  json::object& body = std::get<json::object>(parsed);
  std::vector<FieldError> errors;
  check_key("category", req.param(0), errors);
  check_key("name", req.param(1), errors);
  for (const auto& field : body) {
    if (field.key() != "schema") errors.push_back({std::string(field.key()), "is not a known field"});
  }
  EventTypeRow row;
  const json::value* schema = body.if_contains("schema");
  if (!schema) {
    errors.push_back({"schema", "is required (a JSON Schema object)"});
  } else if ((row.schema = to_json_text(*schema)).size() > max_schema_bytes) {
    errors.push_back({"schema", "must be at most 64 KiB"});
  } else {
    try {
      events::EventSchema::compile(*schema);
    } catch (const std::exception& e) {
      errors.push_back({"schema", e.what()});
    }
  }
  if (!errors.empty()) co_return http::validation_problem(std::move(errors));
  row.category = req.param(0);
  row.name = req.param(1);
  row.created_at = row.updated_at = now_utc();
  auto created = co_await ctx.store.put_event_type(row);
  if (!created.is_ok()) co_return store_failure(created.status(), "event type");
  // The registry takes the committed row (with its original creation time
  // when this replaced it).
  auto in_force = ctx.events->types.refresh(ctx.store, row.category, row.name);
  co_return json_reply(created.value() ? 201 : 200, type_json(in_force ? in_force->row : row));
}

boost::asio::awaitable<Response> delete_type(ApiContext& ctx, Request& req) {
  const std::string& category = req.param(0);
  const std::string& name = req.param(1);
  Status status = co_await ctx.store.delete_event_type(category, name);
  if (!status.is_ok()) co_return store_failure(status, "event type '" + category + "' / '" + name + "'");
  ctx.events->types.refresh(ctx.store, category, name);
  co_return Response(204, std::string(), "");
}

}  // namespace

void register_event_type_routes(http::Router& router, ApiContext& ctx) {
  using http::Access;
  using http::Method;
  http::RouteOptions json_body;
  json_body.content_types = {"application/json"};
  router.add(Method::get, "/v1/event-types", Access::admin,
             http::SyncHandler([&ctx](Request& req) { return list_types(ctx, req); }));
  router.add(Method::get, "/v1/event-types/{category}/{name}", Access::admin,
             http::SyncHandler([&ctx](Request& req) { return get_type(ctx, req); }));
  router.add(Method::put, "/v1/event-types/{category}/{name}", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return put_type(ctx, req); }), json_body);
  router.add(Method::del, "/v1/event-types/{category}/{name}", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return delete_type(ctx, req); }));
}

}  // namespace daisy::api
