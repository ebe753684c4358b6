// /v1/providers: the systems Daisy pulls from, their pulls on demand and the
// record of past pulls (admin only).
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "api/replies.h"
#include "api/routes.h"
#include "feeds/feed_service.h"
#include "http/json_body.h"
#include "store/record_json.h"
#include "util/ids.h"
#include "util/time.h"

namespace daisy::api {
namespace {

using http::Request;
using http::Response;
namespace json = boost::json;

json::object provider_json(const ProviderRow& row, const ProviderDefinition& definition) {
  json::object o;
  o["id"] = row.id;
  for (auto& field : definition.to_json(false)) o[field.key()] = field.value();
  o["created_at"] = row.created_at;
  o["updated_at"] = row.updated_at;
  if (row.last_sync_at.empty()) {
    o["last_sync_at"] = nullptr;
  } else {
    o["last_sync_at"] = row.last_sync_at;
  }
  return o;
}

boost::asio::awaitable<Response> create_provider(ApiContext& ctx, Request& req) {
  auto parsed = http::parse_body_object(req);
  if (auto* refusal = std::get_if<Response>(&parsed)) co_return std::move(*refusal);
  auto definition = parse_provider_definition(std::get<json::object>(parsed));
  if (auto* errors = std::get_if<std::vector<FieldError>>(&definition))
    co_return http::validation_problem(std::move(*errors));
  const ProviderDefinition& d = std::get<ProviderDefinition>(definition);
  ProviderRow row;
  row.id = new_uuid_v7();
  row.name = d.name;
  row.definition = json::serialize(d.to_json(true));
  row.created_at = row.updated_at = now_utc();
  Status status = co_await ctx.store.create_provider(row);
  if (status.code() == Status::Code::conflict) {
    co_return http::problem(409, "conflict", "A provider named '" + d.name + "' exists already.",
                            {{"name", "is already used by another provider"}});
  }
  if (!status.is_ok()) co_return store_failure(status, "provider");
  ctx.feeds->provider_changed(row);
  Response r = json_reply(201, provider_json(row, d));
  r.headers.emplace_back("Location", "/v1/providers/" + row.id);
  co_return r;
}

Response list_providers(ApiContext& ctx, Request& req) {
  auto page = page_from_query(req);
  if (auto* refusal = std::get_if<Response>(&page)) return std::move(*refusal);
  const Page& p = std::get<Page>(page);
  auto rows = ctx.store.list_providers(p);
  if (!rows.is_ok()) return store_failure(rows.status(), "providers");
  json::array items;
  std::string last;
  for (const auto& row : rows.value()) {
    if (auto d = provider_definition_from_json(row.definition)) items.push_back(provider_json(row, *d));
    last = row.id;
  }
  return json_reply(200, page_body(std::move(items), p, std::move(last)));
}

Response get_provider(ApiContext& ctx, Request& req) {
  auto row = ctx.store.get_provider(req.param(0));
  if (!row.is_ok()) return store_failure(row.status(), "provider " + req.param(0));
  auto d = provider_definition_from_json(row.value().definition);
  if (!d) return store_failure(Status::internal("unreadable provider definition"), "provider");
  return json_reply(200, provider_json(row.value(), *d));
}

boost::asio::awaitable<Response> update_provider(ApiContext& ctx, Request& req) {
  auto parsed = http::parse_body_object(req);
  if (auto* refusal = std::get_if<Response>(&parsed)) co_return std::move(*refusal);
  auto row = ctx.store.get_provider(req.param(0));
  if (!row.is_ok()) co_return store_failure(row.status(), "provider " + req.param(0));
  auto base = provider_definition_from_json(row.value().definition);
  if (!base) co_return store_failure(Status::internal("unreadable provider definition"), "provider");
  auto definition = parse_provider_definition(std::get<json::object>(parsed), &*base);
  if (auto* errors = std::get_if<std::vector<FieldError>>(&definition))
    co_return http::validation_problem(std::move(*errors));
  const ProviderDefinition& d = std::get<ProviderDefinition>(definition);
  ProviderRow updated = row.value();
  updated.name = d.name;
  updated.definition = json::serialize(d.to_json(true));
  updated.updated_at = now_utc();
  if (d.url != base->url || d.format != base->format || d.items_path != base->items_path ||
      d.cursor_param != base->cursor_param || d.form_id != base->form_id) {
    // Another source: its validators and cursor mean nothing there.
    updated.etag.clear();
    updated.last_modified.clear();
    updated.cursor.clear();
  }
  Status status = co_await ctx.store.update_provider(updated);
  if (status.code() == Status::Code::conflict) {
    co_return http::problem(409, "conflict", "A provider named '" + d.name + "' exists already.",
                            {{"name", "is already used by another provider"}});
  }
  if (!status.is_ok()) co_return store_failure(status, "provider " + updated.id);
  ctx.feeds->provider_changed(updated);
  co_return json_reply(200, provider_json(updated, d));
}

boost::asio::awaitable<Response> delete_provider(ApiContext& ctx, Request& req) {
  const std::string& id = req.param(0);
  Status status = co_await ctx.store.delete_provider(id);
  if (!status.is_ok()) co_return store_failure(status, "provider " + id);
  ctx.feeds->provider_removed(id);
  co_return Response(204, std::string(), "");
}

boost::asio::awaitable<Response> sync_provider(ApiContext& ctx, Request& req) {
  const std::string& id = req.param(0);
  std::vector<feeds::FeedService::PullAsk> asks{{id, std::nullopt}};
  auto results = co_await ctx.feeds->pull(std::move(asks), "manual");
  const feeds::PullResult& result = *results.front();
  if (!result.status.is_ok()) co_return store_failure(result.status, "provider " + id);
  co_return json_reply(200, sync_json(result.sync));
}

Response list_syncs(ApiContext& ctx, Request& req) {
  auto page = page_from_query(req);
  if (auto* refusal = std::get_if<Response>(&page)) return std::move(*refusal);
  const Page& p = std::get<Page>(page);
  auto before = seq_cursor(p);
  if (!before) {
    return http::validation_problem({{"after", "is not a cursor returned by this API (next_cursor)"}},
                                    "Invalid query parameter.");
  }
  auto provider = ctx.store.get_provider(req.param(0));
  if (!provider.is_ok()) return store_failure(provider.status(), "provider " + req.param(0));
  auto rows = ctx.store.list_syncs(req.param(0), *before, p.limit);
  if (!rows.is_ok()) return store_failure(rows.status(), "syncs");
  json::array items;
  std::string last;
  for (const auto& s : rows.value()) {
    items.push_back(sync_json(s));
    last = std::to_string(s.seq);
  }
  return json_reply(200, page_body(std::move(items), p, std::move(last)));
}

}  // namespace

void register_provider_routes(http::Router& router, ApiContext& ctx) {
  using http::Access;
  using http::Method;
  http::RouteOptions json_body;
  json_body.content_types = {"application/json"};
  router.add(Method::post, "/v1/providers", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return create_provider(ctx, req); }), json_body);
  router.add(Method::get, "/v1/providers", Access::admin,
             http::SyncHandler([&ctx](Request& req) { return list_providers(ctx, req); }));
  router.add(Method::get, "/v1/providers/{id}", Access::admin,
             http::SyncHandler([&ctx](Request& req) { return get_provider(ctx, req); }));
  router.add(Method::patch, "/v1/providers/{id}", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return update_provider(ctx, req); }), json_body);
  router.add(Method::del, "/v1/providers/{id}", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return delete_provider(ctx, req); }));
  router.add(Method::post, "/v1/providers/{id}/sync", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return sync_provider(ctx, req); }));
  router.add(Method::get, "/v1/providers/{id}/syncs", Access::admin,
             http::SyncHandler([&ctx](Request& req) { return list_syncs(ctx, req); }), http::heavy_read());
}

}  // namespace daisy::api
