#pragma once
// Listing what json and daisy providers brought, without HTTP: the items of
// some providers, in provider then item id order, filtered by equality on
// their fields, optionally pulled fresh first. A front end (api/items.cpp
// today) turns its query into an ItemQuery and the listing into its reply.

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "feeds/feed_service.h"
#include "store/feed_store.h"
#include "store/status.h"
#include "util/read_runner.h"

namespace daisy::feeds {

// Holds for an item whose field at path is a scalar equal to value (strings as
// they are, other scalars as their JSON text).
struct ItemFilter {
  std::vector<std::string> path;  // the field answers.device: {"answers", "device"}
  std::string value;
};

// Where a listing starts: after item `after` of the query's providers[provider]
// (after empty: at that provider's first item).
struct ItemPosition {
  std::size_t provider = 0;
  std::string after;
};

struct ItemQuery {
  std::vector<FeedService::ProviderView> providers;  // listed in this order, each once
  std::vector<ItemFilter> filters;                   // all must hold
  bool fresh = false;      // pull the providers first, waiting for each at most its timeout_ms
  std::size_t limit = 50;  // items in the listing, at most
  ItemPosition start;
};

struct ListedItem {
  std::string provider_name, provider_id;
  ItemRow row;
};

// A provider of the query, as the listing found it.
struct ListedProvider {
  std::string name;
  std::string_view status = "stale";  // stale (not pulled), fresh, timeout or error
  std::string error;                  // why a fresh pull gave no fresh data; empty when it did, or was not asked
  std::string last_sync_at;           // of its last successful pull; empty: never
};

struct ItemListing {
  std::vector<ListedItem> items;
  // Set when the listing stopped before the end (full, or past the items it
  // may examine): where the next one starts, for position_after.
  std::optional<std::string> next_cursor;
  std::vector<ListedProvider> providers;  // in the query's order
};

// The items the query asks for, or the Status of the store when it fails
// (after any fresh pulls; unavailable when run_read refused the scan). Runs
// on the caller's executor; the fresh pulls run on the feeds' thread, the
// scan of the stored items through run_read (when empty, on the caller's).
boost::asio::awaitable<Result<ItemListing>> list_items(FeedService& feeds, FeedStore& store, ItemQuery query,
                                                       ReadRunner run_read = {});

// Where the listing a next_cursor came from goes on, among the same providers;
// nullopt when the cursor names none of them.
std::optional<ItemPosition> position_after(const std::vector<FeedService::ProviderView>& providers,
                                           const std::string& cursor);

}  // namespace daisy::feeds
