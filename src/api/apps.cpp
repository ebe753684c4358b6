// /v1/apps: client applications and their tokens (admin only).
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "api/replies.h"
#include "api/routes.h"
#include "auth/tokens.h"
#include "events/events_state.h"
#include "http/json_body.h"
#include "util/ids.h"
#include "util/time.h"

namespace daisy::api {
namespace {

using http::Request;
using http::Response;
namespace json = boost::json;

json::object app_json(const App& app) {
  return {{"id", app.id},
          {"name", app.name},
          {"created_at", app.created_at},
          {"unknown_event_types", app.unknown_event_types}};
}

boost::asio::awaitable<Response> create_app(ApiContext& ctx, Request& req) {
  auto parsed = http::parse_json_object_body(req);
  if (auto* refusal = std::get_if<Response>(&parsed)) co_return std::move(*refusal);
  auto root = std::get<http::ParsedJson>(parsed).root().get_object().value();

  std::vector<http::FieldError> errors;
  auto name = http::get_string(root, "name", true, errors);
  if (name) {
    if (auto why = check_app_name(*name); !why.empty()) errors.push_back({"name", why});
  }
  for (auto field : root) {
    if (field.key != "name") errors.push_back({std::string(field.key), "is not a known field"});
  }
  if (!errors.empty()) co_return http::validation_problem(std::move(errors));

  App app{new_uuid_v7(), std::string(*name), now_utc()};
  std::string token = generate_token(app_token_prefix);
  Sha256 hash = hash_token(token);
  Status status = co_await ctx.store.create_app(app, hash);
  if (!status.is_ok()) co_return store_failure(status, "app");
  ctx.auth.put_app(app.id, hash);

  json::object body = app_json(app);
  body["token"] = token;
  Response r = json_reply(201, body);
  r.headers.emplace_back("Location", "/v1/apps/" + app.id);
  co_return r;
}

Response list_apps(ApiContext& ctx, Request& req) {
  auto page = page_from_query(req);
  if (auto* refusal = std::get_if<Response>(&page)) return std::move(*refusal);
  const Page& p = std::get<Page>(page);
  auto apps = ctx.store.list_apps(p);
  if (!apps.is_ok()) return store_failure(apps.status(), "apps");
  json::array items;
  for (const auto& app : apps.value()) items.push_back(app_json(app));
  std::string last = apps.value().empty() ? std::string() : apps.value().back().id;
  return json_reply(200, page_body(std::move(items), p, std::move(last)));
}

Response get_app(ApiContext& ctx, Request& req) {
  auto app = ctx.store.get_app(req.param(0));
  if (!app.is_ok()) return store_failure(app.status(), "app " + req.param(0));
  return json_reply(200, app_json(app.value()));
}

// PATCH /v1/apps/{id}: the app's settings; today its policy for events of
// unknown types ("accept" or "reject").
boost::asio::awaitable<Response> patch_app(ApiContext& ctx, Request& req) {
  auto parsed = http::parse_json_object_body(req);
  if (auto* refusal = std::get_if<Response>(&parsed)) co_return std::move(*refusal);
  auto root = std::get<http::ParsedJson>(parsed).root().get_object().value();
  std::vector<http::FieldError> errors;
  auto policy = http::get_string(root, "unknown_event_types", true, errors);
  if (policy && *policy != "accept" && *policy != "reject") {
    errors.push_back({"unknown_event_types", "must be \"accept\" or \"reject\""});
  }
  for (auto field : root) {
    if (field.key != "unknown_event_types") errors.push_back({std::string(field.key), "is not a known field"});
  }
  if (!errors.empty()) co_return http::validation_problem(std::move(errors));
  const std::string& id = req.param(0);
  std::string value(*policy);
  Status status = co_await ctx.store.set_unknown_event_types(id, value);
  if (!status.is_ok()) co_return store_failure(status, "app " + id);
  ctx.events->unknown_types.refresh(ctx.store, id);
  auto app = ctx.store.get_app(id);
  if (!app.is_ok()) co_return store_failure(app.status(), "app " + id);
  co_return json_reply(200, app_json(app.value()));
}

boost::asio::awaitable<Response> delete_app(ApiContext& ctx, Request& req) {
  const std::string& id = req.param(0);
  Status status = co_await ctx.store.delete_app(id);
  if (!status.is_ok()) co_return store_failure(status, "app " + id);
  ctx.auth.remove_app(id);
  co_return Response(204, std::string(), "");
}

boost::asio::awaitable<Response> rotate_token(ApiContext& ctx, Request& req) {
  const std::string& id = req.param(0);
  std::string token = generate_token(app_token_prefix);
  Sha256 hash = hash_token(token);
  Status status = co_await ctx.store.set_app_token(id, hash);
  if (!status.is_ok()) co_return store_failure(status, "app " + id);
  ctx.auth.put_app(id, hash);
  auto app = ctx.store.get_app(id);
  if (!app.is_ok()) co_return store_failure(app.status(), "app " + id);
  json::object body = app_json(app.value());
  body["token"] = token;
  co_return json_reply(200, body);
}

}  // namespace

void register_app_routes(http::Router& router, ApiContext& ctx) {
  using http::Access;
  using http::Method;
  http::RouteOptions json_body;
  json_body.content_types = {"application/json"};

  router.add(Method::post, "/v1/apps", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return create_app(ctx, req); }), json_body);
  router.add(Method::get, "/v1/apps", Access::admin,
             http::SyncHandler([&ctx](Request& req) { return list_apps(ctx, req); }));
  router.add(Method::get, "/v1/apps/{id}", Access::admin,
             http::SyncHandler([&ctx](Request& req) { return get_app(ctx, req); }));
  router.add(Method::patch, "/v1/apps/{id}", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return patch_app(ctx, req); }), json_body);
  router.add(Method::del, "/v1/apps/{id}", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return delete_app(ctx, req); }));
  router.add(Method::post, "/v1/apps/{id}/token", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return rotate_token(ctx, req); }));
}

}  // namespace daisy::api
