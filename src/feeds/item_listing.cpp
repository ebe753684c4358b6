#include "feeds/item_listing.h"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <chrono>
#include <utility>

#include "util/json_text.h"

namespace daisy::feeds {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

// Items examined per listing (each parsed, on the caller's thread: a few ms in
// all); past it the listing ends early with a cursor.
constexpr std::size_t max_scanned = 5000;
// Items read from the store at a time.
constexpr std::size_t store_batch = 500;

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

// Whether every filter holds for the item (all do when there are none; none
// do when its data cannot be read).
bool matches(const ItemRow& row, const std::vector<ItemFilter>& filters) {
  if (filters.empty()) return true;
  json::error_code ec;
  json::parse_options options;
  options.max_depth = 64;  // as deep as a pull accepts
  json::value data = json::parse(row.data, ec, {}, options);
  return !ec && std::all_of(filters.begin(), filters.end(), [&](const ItemFilter& f) {
    auto v = value_at(data, f.path);
    return v && *v == f.value;
  });
}

std::string_view provider_status(const std::optional<PullResult>& result) {
  // No answer within the wait, or a pull that itself ran out of time (the
  // fetch's own timeout is the same timeout_ms, and may fire first).
  if (!result || result->timed_out) return "timeout";
  return result->ok() ? "fresh" : "error";
}

// Why a fresh pull did not give fresh data ("" when it did, or was not asked).
std::string provider_error(const std::optional<PullResult>& result, unsigned timeout_ms) {
  if (!result || result->timed_out) return "no answer within its timeout_ms (" + std::to_string(timeout_ms) + " ms)";
  if (!result->status.is_ok()) return "the pull could not be recorded: " + result->status.message();
  return result->sync.error;
}

// Pulls the providers now, all at once, waiting for each at most its
// timeout_ms; records in `listed` (one per provider) how each pull went and
// the last_sync_at it left.
asio::awaitable<void> pull_fresh(FeedService& feeds, const std::vector<FeedService::ProviderView>& providers,
                                 std::vector<ListedProvider>& listed) {
  auto now = std::chrono::steady_clock::now();
  std::vector<FeedService::PullAsk> asks;
  for (const auto& v : providers) asks.push_back({v.id, now + std::chrono::milliseconds(v.definition.timeout_ms)});
  auto results = co_await feeds.pull(std::move(asks), "fresh");
  for (std::size_t i = 0; i < providers.size(); ++i) {
    listed[i].status = provider_status(results[i]);
    listed[i].error = provider_error(results[i], providers[i].definition.timeout_ms);
    if (auto now_view = feeds.find_by_name(providers[i].definition.name)) {
      listed[i].last_sync_at = now_view->last_sync_at;
    }
  }
}

// Adds to listing.items the matching items from query.start on, until it holds
// query.limit of them or max_scanned items have been examined; then sets
// listing.next_cursor to the last one examined. Not ok: the store failed.
Status scan_items(FeedStore& store, const ItemQuery& query, ItemListing& listing) {
  std::size_t scanned = 0;
  for (std::size_t i = query.start.provider; i < query.providers.size() && !listing.next_cursor; ++i) {
    const FeedService::ProviderView& provider = query.providers[i];
    std::string after = i == query.start.provider ? query.start.after : std::string();
    for (;;) {
      auto rows = store.list_items(provider.id, after, store_batch);
      if (!rows.is_ok()) return rows.status();
      for (ItemRow& row : rows.value()) {
        ++scanned;
        after = row.item_id;
        if (matches(row, query.filters)) {
          listing.items.push_back({provider.definition.name, provider.id, std::move(row)});
        }
        if (listing.items.size() == query.limit || scanned == max_scanned) {
          // The cursor's form: "<provider name>/<item id>" (position_after reads it).
          listing.next_cursor = provider.definition.name + "/" + after;
          break;
        }
      }
      if (listing.next_cursor || rows.value().size() < store_batch) break;
    }
  }
  return Status::ok();
}

}  // namespace

asio::awaitable<Result<ItemListing>> list_items(FeedService& feeds, FeedStore& store, ItemQuery query,
                                                ReadRunner run_read) {
  ItemListing listing;
  listing.providers.reserve(query.providers.size());
  for (const auto& v : query.providers) listing.providers.push_back({v.definition.name, "stale", {}, v.last_sync_at});
  if (query.fresh) co_await pull_fresh(feeds, query.providers, listing.providers);
  Status scanned = Status::ok();
  if (!run_read) {
    scanned = scan_items(store, query, listing);
  } else {
    bool ran = co_await run_read([&] { scanned = scan_items(store, query, listing); });
    if (!ran) co_return Status::unavailable("too many heavy reads are waiting for a reader; retry shortly");
  }
  if (!scanned.is_ok()) co_return scanned;
  co_return std::move(listing);
}

std::optional<ItemPosition> position_after(const std::vector<FeedService::ProviderView>& providers,
                                           const std::string& cursor) {
  auto slash = cursor.find('/');
  if (slash == std::string::npos) return std::nullopt;
  std::string name = cursor.substr(0, slash);
  std::optional<ItemPosition> found;
  for (std::size_t i = 0; i < providers.size(); ++i) {
    if (providers[i].definition.name == name) found = ItemPosition{i, {}};
  }
  if (found) found->after = cursor.substr(slash + 1);
  return found;
}

}  // namespace daisy::feeds
