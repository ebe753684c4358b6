// GET /v1/items: what json and daisy providers brought, filtered by equality
// on the items' fields, optionally pulled fresh first (admin only). The
// listing itself is feeds::list_items; here, the query and the reply.
#include <algorithm>

#include "api/replies.h"
#include "api/routes.h"
#include "feeds/item_listing.h"
#include "util/json_text.h"

namespace daisy::api {
namespace {

using http::Request;
using http::Response;

constexpr std::size_t max_providers = 20;
constexpr std::size_t max_filters = 20;

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t at = s.find(sep, start);
    out.emplace_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

// ?provider=a,b: the providers named, each once, in the order named.
std::vector<feeds::FeedService::ProviderView> providers_from_query(ApiContext& ctx, const Request& req,
                                                                   std::vector<FieldError>& errors) {
  std::vector<feeds::FeedService::ProviderView> providers;
  auto names = req.query_param("provider");
  if (!names || names->empty()) {
    errors.push_back({"provider", "is required: one or more provider names, separated by commas"});
    return providers;
  }
  auto list = split(*names, ',');
  if (list.size() > max_providers) errors.push_back({"provider", "may name at most 20 providers"});
  for (const auto& name : list) {
    auto view = ctx.feeds->find_by_name(name);
    if (!view) {
      errors.push_back({"provider", "no provider is named '" + name + "'"});
    } else if (std::none_of(providers.begin(), providers.end(), [&](const auto& v) { return v.id == view->id; })) {
      providers.push_back(std::move(*view));
    }
  }
  return providers;
}

// ?match.<field>[.<field>...]=<value>, any number of times.
std::vector<feeds::ItemFilter> filters_from_query(const Request& req, std::vector<FieldError>& errors) {
  std::vector<feeds::ItemFilter> filters;
  for (const auto& part : split(req.query, '&')) {
    auto eq = part.find('=');
    std::string key = http::percent_decode(std::string_view(part).substr(0, eq), true);
    if (key.rfind("match.", 0) != 0) continue;
    std::string value =
        eq == std::string::npos ? "" : http::percent_decode(std::string_view(part).substr(eq + 1), true);
    auto path = split(std::string_view(key).substr(6), '.');
    if (std::any_of(path.begin(), path.end(), [](const auto& k) { return k.empty(); })) {
      errors.push_back({key, "must name a field, such as match.device or match.answers.city"});
      continue;
    }
    filters.push_back({std::move(path), std::move(value)});
  }
  if (filters.size() > max_filters) errors.push_back({"match", "at most 20 filters"});
  return filters;
}

// The query the request asks for; usable only when errors stays empty.
feeds::ItemQuery item_query(ApiContext& ctx, const Request& req, const Page& page, std::vector<FieldError>& errors) {
  feeds::ItemQuery query;
  query.providers = providers_from_query(ctx, req, errors);
  query.filters = filters_from_query(req, errors);
  if (auto f = req.query_param("fresh")) {
    if (*f == "true") {
      query.fresh = true;
    } else if (*f != "false") {
      errors.push_back({"fresh", "must be true or false"});
    }
  }
  query.limit = page.limit;
  if (!page.after.empty() && errors.empty()) {
    if (auto start = feeds::position_after(query.providers, page.after)) {
      query.start = std::move(*start);
    } else {
      errors.push_back({"after", "is not a cursor returned by this query (next_cursor)"});
    }
  }
  return query;
}

// {"items": [...], "next_cursor": "<cursor>" | null, "providers": [...]}
std::string listing_body(const feeds::ItemListing& listing) {
  std::string body = "{\"items\":[";
  for (std::size_t i = 0; i < listing.items.size(); ++i) {
    const feeds::ListedItem& item = listing.items[i];
    if (i) body += ',';
    body += "{\"provider\":";
    append_json_string(body, item.provider_name);
    body += ",\"provider_id\":\"" + item.provider_id + "\",\"id\":";
    append_json_string(body, item.row.item_id);
    body += ",\"data\":" + item.row.data + ",\"first_seen_at\":\"" + item.row.first_seen_at + "\",\"updated_at\":\"" +
            item.row.updated_at + "\"}";
  }
  body += "],\"next_cursor\":";
  if (listing.next_cursor) {
    append_json_string(body, *listing.next_cursor);
  } else {
    body += "null";
  }
  body += ",\"providers\":[";
  for (std::size_t i = 0; i < listing.providers.size(); ++i) {
    const feeds::ListedProvider& provider = listing.providers[i];
    if (i) body += ',';
    body += "{\"name\":";
    append_json_string(body, provider.name);
    body += ",\"status\":\"" + std::string(provider.status) + "\",\"error\":";
    if (provider.error.empty()) {
      body += "null";
    } else {
      append_json_string(body, provider.error);
    }
    body += ",\"last_sync_at\":";
    if (provider.last_sync_at.empty()) {
      body += "null";
    } else {
      body += "\"" + provider.last_sync_at + "\"";
    }
    body += '}';
  }
  body += "]}";
  return body;
}

boost::asio::awaitable<Response> list_items(ApiContext& ctx, Request& req) {
  auto page = page_from_query(req);
  if (auto* refusal = std::get_if<Response>(&page)) co_return std::move(*refusal);
  std::vector<FieldError> errors;
  feeds::ItemQuery query = item_query(ctx, req, std::get<Page>(page), errors);
  if (!errors.empty()) co_return http::validation_problem(std::move(errors), "Invalid query parameter.");
  auto listing = co_await feeds::list_items(*ctx.feeds, ctx.store, std::move(query), runner_on(ctx.readers));
  if (!listing.is_ok()) co_return store_failure(listing.status(), "items");
  co_return Response(200, listing_body(listing.value()));
}

}  // namespace

void register_item_routes(http::Router& router, ApiContext& ctx) {
  router.add(http::Method::get, "/v1/items", http::Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return list_items(ctx, req); }));
}

}  // namespace daisy::api
