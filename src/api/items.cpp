// GET /v1/items: what json and daisy providers brought, filtered by equality
// on the items' fields, optionally pulled fresh first (admin only).
#include <boost/json/parse.hpp>

#include <chrono>

#include "api/replies.h"
#include "api/routes.h"
#include "feeds/feed_service.h"
#include "util/json_text.h"

namespace daisy::api {
namespace {

using http::Request;
using http::Response;
namespace json = boost::json;

constexpr std::size_t max_providers = 20;
constexpr std::size_t max_filters = 20;
// Items examined per request (each parsed, on the I/O thread: a few ms in
// all); past it the page ends early with a cursor.
constexpr std::size_t max_scanned = 5000;

struct Filter {
  std::vector<std::string> path;  // match.answers.device -> {"answers", "device"}
  std::string value;
};

// The item's value at the path as text (strings as they are, other scalars as
// JSON), or nullopt when absent or not a scalar.
std::optional<std::string> value_at(const json::value& item, const std::vector<std::string>& path) {
  const json::value* at = &item;
  for (const auto& key : path) {
    if (!at->is_object()) return std::nullopt;
    at = at->as_object().if_contains(key);
    if (!at) return std::nullopt;
  }
  if (at->is_string()) return std::string(at->as_string());
  if (at->is_object() || at->is_array()) return std::nullopt;
  return to_json_text(*at);
}

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

std::string_view provider_status(const std::optional<feeds::PullResult>& result) {
  // No answer within the wait, or a pull that itself ran out of time (the
  // fetch's own timeout is the same timeout_ms, and may fire first).
  if (!result || result->timed_out) return "timeout";
  return result->ok() ? "fresh" : "error";
}

// Why a fresh pull did not give fresh data ("" when it did, or was not asked).
std::string provider_error(const std::optional<feeds::PullResult>& result, unsigned timeout_ms) {
  if (!result || result->timed_out) return "no answer within its timeout_ms (" + std::to_string(timeout_ms) + " ms)";
  if (!result->status.is_ok()) return "the pull could not be recorded: " + result->status.message();
  return result->sync.error;
}

boost::asio::awaitable<Response> list_items(ApiContext& ctx, Request& req) {
  std::vector<FieldError> errors;
  auto page = page_from_query(req);
  if (auto* refusal = std::get_if<Response>(&page)) co_return std::move(*refusal);
  const Page& p = std::get<Page>(page);

  std::vector<feeds::FeedService::ProviderView> providers;
  auto names = req.query_param("provider");
  if (!names || names->empty()) {
    errors.push_back({"provider", "is required: one or more provider names, separated by commas"});
  } else {
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
  }
  std::vector<Filter> filters;
  for (const auto& part : split(req.query, '&')) {
    auto eq = part.find('=');
    std::string key = http::percent_decode(std::string_view(part).substr(0, eq), true);
    if (key.rfind("match.", 0) != 0) continue;
    std::string value = eq == std::string::npos ? "" : http::percent_decode(std::string_view(part).substr(eq + 1), true);
    auto path = split(std::string_view(key).substr(6), '.');
    if (std::any_of(path.begin(), path.end(), [](const auto& k) { return k.empty(); })) {
      errors.push_back({key, "must name a field, such as match.device or match.answers.city"});
      continue;
    }
    filters.push_back({std::move(path), std::move(value)});
  }
  if (filters.size() > max_filters) errors.push_back({"match", "at most 20 filters"});
  bool fresh = false;
  if (auto f = req.query_param("fresh")) {
    if (*f == "true") {
      fresh = true;
    } else if (*f != "false") {
      errors.push_back({"fresh", "must be true or false"});
    }
  }
  // The cursor: "<provider name>/<item id>" of the last item of the previous page.
  std::size_t start_provider = 0;
  std::string start_after;
  if (!p.after.empty() && errors.empty()) {
    auto slash = p.after.find('/');
    bool found = false;
    if (slash != std::string::npos) {
      std::string name = p.after.substr(0, slash);
      for (std::size_t i = 0; i < providers.size(); ++i) {
        if (providers[i].definition.name == name) start_provider = i, found = true;
      }
      start_after = p.after.substr(slash + 1);
    }
    if (!found) errors.push_back({"after", "is not a cursor returned by this query (next_cursor)"});
  }
  if (!errors.empty()) co_return http::validation_problem(std::move(errors), "Invalid query parameter.");

  std::vector<std::string_view> statuses(providers.size(), "stale");
  std::vector<std::string> pull_errors(providers.size());
  if (fresh) {
    auto now = std::chrono::steady_clock::now();
    std::vector<feeds::FeedService::PullAsk> asks;
    for (const auto& v : providers) asks.push_back({v.id, now + std::chrono::milliseconds(v.definition.timeout_ms)});
    auto results = co_await ctx.feeds->pull(std::move(asks), "fresh");
    for (std::size_t i = 0; i < providers.size(); ++i) {
      statuses[i] = provider_status(results[i]);
      pull_errors[i] = provider_error(results[i], providers[i].definition.timeout_ms);
      if (auto now_view = ctx.feeds->find_by_name(providers[i].definition.name)) {
        providers[i].last_sync_at = now_view->last_sync_at;
      }
    }
  }

  std::string body = "{\"items\":[";
  std::size_t count = 0, scanned = 0;
  std::string cursor;
  bool more = false;
  for (std::size_t i = start_provider; i < providers.size() && !more; ++i) {
    std::string after = i == start_provider ? start_after : std::string();
    for (;;) {
      auto rows = ctx.store.list_items(providers[i].id, after, 500);
      if (!rows.is_ok()) co_return store_failure(rows.status(), "items");
      for (const ItemRow& row : rows.value()) {
        ++scanned;
        after = row.item_id;
        bool match = true;
        if (!filters.empty()) {
          json::error_code ec;
          json::parse_options options;
          options.max_depth = 64;  // as deep as a pull accepts
          json::value data = json::parse(row.data, ec, {}, options);
          match = !ec && std::all_of(filters.begin(), filters.end(), [&](const Filter& f) {
            auto v = value_at(data, f.path);
            return v && *v == f.value;
          });
        }
        if (match) {
          if (count++) body += ',';
          body += "{\"provider\":";
          append_json_string(body, providers[i].definition.name);
          body += ",\"provider_id\":\"" + providers[i].id + "\",\"id\":";
          append_json_string(body, row.item_id);
          body += ",\"data\":" + row.data + ",\"first_seen_at\":\"" + row.first_seen_at + "\",\"updated_at\":\"" +
                  row.updated_at + "\"}";
        }
        if (count == p.limit || scanned == max_scanned) {
          more = true;
          cursor = providers[i].definition.name + "/" + row.item_id;
          break;
        }
      }
      if (more || rows.value().size() < 500) break;
    }
  }
  body += "],\"next_cursor\":";
  if (more) {
    append_json_string(body, cursor);
  } else {
    body += "null";
  }
  body += ",\"providers\":[";
  for (std::size_t i = 0; i < providers.size(); ++i) {
    if (i) body += ',';
    body += "{\"name\":";
    append_json_string(body, providers[i].definition.name);
    body += ",\"status\":\"" + std::string(statuses[i]) + "\",\"error\":";
    if (pull_errors[i].empty()) {
      body += "null";
    } else {
      append_json_string(body, pull_errors[i]);
    }
    body += ",\"last_sync_at\":";
    if (providers[i].last_sync_at.empty()) {
      body += "null";
    } else {
      body += "\"" + providers[i].last_sync_at + "\"";
    }
    body += '}';
  }
  body += "]}";
  co_return Response(200, std::move(body));
}

}  // namespace

void register_item_routes(http::Router& router, ApiContext& ctx) {
  router.add(http::Method::get, "/v1/items", http::Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return list_items(ctx, req); }));
}

}  // namespace daisy::api
