// /v1/apps: client applications and their tokens (admin only).
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <functional>
#include <optional>

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

json::array strings_json(const std::vector<std::string>& list) {
  json::array out;
  for (const auto& s : list) out.push_back(json::string(s));
  return out;
}

json::object app_json(const App& app) {
  const AppAccess& a = app.access;
  return {{"id", app.id},
          {"name", app.name},
          {"created_at", app.created_at},
          {"unknown_event_types", app.unknown_event_types},
          {"publishable_key", a.publishable_key},
          {"allowed_origins", strings_json(a.allowed_origins)},
          {"forms", strings_json(a.forms)},
          {"rate_limit", json::object{{"events_per_second", a.events_per_second}, {"burst", a.burst}}}};
}

// A list of strings from a PATCH body, each checked by `check` (its reason,
// or empty); nullopt (with errors) when it is not one.
std::optional<std::vector<std::string>> string_list(simdjson::dom::element value, std::string_view field,
                                                    std::size_t max_items,
                                                    const std::function<std::string(std::string_view)>& check,
                                                    std::vector<http::FieldError>& errors) {
  simdjson::dom::array array;
  if (value.get_array().get(array) != simdjson::SUCCESS) {
    errors.push_back({std::string(field), "must be an array of strings"});
    return std::nullopt;
  }
  if (array.size() > max_items) {
    errors.push_back({std::string(field), "holds at most " + std::to_string(max_items) + " items"});
    return std::nullopt;
  }
  std::vector<std::string> out;
  std::size_t i = 0;
  for (auto item : array) {
    std::string path = std::string(field) + "[" + std::to_string(i++) + "]";
    std::string_view text;
    if (item.get_string().get(text) != simdjson::SUCCESS) {
      errors.push_back({path, "must be a string"});
    } else if (auto why = check(text); !why.empty()) {
      errors.push_back({path, why});
    } else {
      out.emplace_back(text);
    }
  }
  return out;
}

std::optional<std::int64_t> bounded_integer(simdjson::dom::object obj, std::string_view key, std::int64_t max,
                                            std::vector<http::FieldError>& errors) {
  std::int64_t v = 0;
  if (obj[key].get_int64().get(v) != simdjson::SUCCESS || v < 1 || v > max) {
    errors.push_back({"rate_limit." + std::string(key), "must be an integer from 1 to " + std::to_string(max)});
    return std::nullopt;
  }
  return v;
}

void read_rate_limit(simdjson::dom::element value, AppAccess& access, std::vector<http::FieldError>& errors) {
  simdjson::dom::object obj;
  if (value.get_object().get(obj) != simdjson::SUCCESS) {
    errors.push_back({"rate_limit", "must be an object {\"events_per_second\": n, \"burst\": n}"});
    return;
  }
  for (auto field : obj) {
    if (field.key != "events_per_second" && field.key != "burst") {
      errors.push_back({"rate_limit." + std::string(field.key), "is not a known field"});
    }
  }
  if (auto v = bounded_integer(obj, "events_per_second", max_events_per_second, errors)) access.events_per_second = *v;
  if (auto v = bounded_integer(obj, "burst", 10 * max_events_per_second, errors)) access.burst = *v;
}

// Applies a PATCH body to `app`; the errors name each field refused.
void apply_settings(ApiContext& ctx, simdjson::dom::object root, App& app, std::vector<http::FieldError>& errors) {
  for (auto field : root) {
    std::string_view key = field.key;
    if (key == "unknown_event_types") {
      std::string_view policy;
      if (field.value.get_string().get(policy) != simdjson::SUCCESS || (policy != "accept" && policy != "reject")) {
        errors.push_back({"unknown_event_types", "must be \"accept\" or \"reject\""});
      } else {
        app.unknown_event_types = std::string(policy);
      }
    } else if (key == "allowed_origins") {
      auto origins = string_list(field.value, key, max_allowed_origins, check_origin_pattern, errors);
      if (origins) app.access.allowed_origins = std::move(*origins);
    } else if (key == "forms") {
      auto known_form = [&ctx](std::string_view id) -> std::string {
        if (!is_uuid(id)) return "must be a form id (a UUID)";
        return ctx.store.get_form(lower_case_uuid(id)).is_ok() ? std::string() : "is not a form";
      };
      auto forms = string_list(field.value, key, max_app_forms, known_form, errors);
      if (forms) {
        for (auto& id : *forms) id = lower_case_uuid(id);
        app.access.forms = std::move(*forms);
      }
    } else if (key == "rate_limit") {
      read_rate_limit(field.value, app.access, errors);
    } else {
      errors.push_back({std::string(key), "is not a known field"});
    }
  }
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
  app.access.publishable_key = generate_token(publishable_key_prefix);
  std::string token = generate_token(app_token_prefix);
  Sha256 hash = hash_token(token);
  Status status = co_await ctx.store.create_app(app, hash);
  if (!status.is_ok()) co_return store_failure(status, "app");
  ctx.auth.put_app(app.id, hash);
  ctx.auth.put_access(app.id, app.access);

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

// PATCH /v1/apps/{id}: the app's settings (unknown_event_types,
// allowed_origins, forms, rate_limit); the fields absent keep their values.
boost::asio::awaitable<Response> patch_app(ApiContext& ctx, Request& req) {
  auto parsed = http::parse_json_object_body(req);
  if (auto* refusal = std::get_if<Response>(&parsed)) co_return std::move(*refusal);
  auto root = std::get<http::ParsedJson>(parsed).root().get_object().value();
  const std::string& id = req.param(0);
  auto current = ctx.store.get_app(id);
  if (!current.is_ok()) co_return store_failure(current.status(), "app " + id);
  App app = std::move(current.value());
  std::vector<http::FieldError> errors;
  apply_settings(ctx, root, app, errors);
  if (!errors.empty()) co_return http::validation_problem(std::move(errors));
  Status status = co_await ctx.store.update_app_settings(app);
  if (!status.is_ok()) co_return store_failure(status, "app " + id);
  ctx.events->unknown_types.refresh(ctx.store, id);
  ctx.auth.put_access(id, app.access);
  co_return json_reply(200, app_json(app));
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

// POST /v1/apps/{id}/publishable-key: a new key; the old one stops at once.
boost::asio::awaitable<Response> rotate_publishable_key(ApiContext& ctx, Request& req) {
  const std::string& id = req.param(0);
  std::string key = generate_token(publishable_key_prefix);
  Status status = co_await ctx.store.set_publishable_key(id, key);
  if (!status.is_ok()) co_return store_failure(status, "app " + id);
  auto app = ctx.store.get_app(id);
  if (!app.is_ok()) co_return store_failure(app.status(), "app " + id);
  ctx.auth.put_access(id, app.value().access);
  co_return json_reply(200, app_json(app.value()));
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
  router.add(Method::post, "/v1/apps/{id}/publishable-key", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return rotate_publishable_key(ctx, req); }));
}

}  // namespace daisy::api
