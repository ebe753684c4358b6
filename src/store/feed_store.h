#pragma once
// The store of feeds: providers with their pull state, every pull's record,
// and everything pulled (fever-xml plans, JSON items), kept for good. The
// contract of every store interface is in store/store.h.

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/page.h"
#include "store/status.h"

namespace daisy {

// A provider as stored. definition is the JSON of ProviderDefinition; the
// rest is pull state carried across restarts.
struct ProviderRow {
  std::string id, name, definition, created_at, updated_at;
  std::string etag, last_modified, cursor, last_sync_at;
};
// One pull's record.
struct SyncRow {
  std::int64_t seq = 0;
  std::string provider_id, started_at;
  std::int64_t duration_ms = 0;
  int http_status = 0;  // 0: no response
  std::int64_t seen = 0, added = 0, changed = 0, skipped = 0;
  std::string error;    // empty on success
  std::string trigger;  // schedule | manual | fresh
};
// A fever-xml plan as a pull delivers it.
struct PlanRow {
  std::string base_plan_id, plan_id, id;
  std::string title, sell_mode, starts_local, ends_local, min_price, max_price, attributes;
};
// Whether two versions of a plan say the same (its keys aside): a pull that
// brings a known plan unchanged writes nothing and counts nothing. Every
// backend decides it this way (feed_store.cpp).
bool same_plan_values(const PlanRow& a, const PlanRow& b);
struct ItemRow {
  std::string provider_id, item_id, data;  // data: JSON text
  std::string first_seen_at, updated_at;
};
// Everything one pull writes, in one transaction: its plans or items, the
// provider's new pull state and the sync record. The store counts what was
// added and changed into sync.
struct PullWrite {
  std::string provider_id;
  // The provider's updated_at when the pull began: if the provider has been
  // changed since (another URL, perhaps), only the sync record is written.
  std::string definition_updated_at;
  std::vector<PlanRow> plans;
  std::vector<std::string> online_base_plans;  // base plan ids seen with sell_mode="online"
  std::vector<ItemRow> items;
  bool success = false;  // when false only the sync record is written (also when sync.error is set:
                         // json pages read before a later page failed are kept)
  std::string etag, last_modified, cursor, synced_at;
  SyncRow sync;
};
// A plan that /search may return (its base plan was online at least once).
struct SearchablePlan {
  std::string id, title, starts_local, ends_local, min_price, max_price;
};

class FeedStore {
 public:
  virtual ~FeedStore() = default;

  // Providers. Names are unique (conflict). Deleting one deletes what it pulled.
  virtual boost::asio::awaitable<Status> create_provider(ProviderRow row) = 0;
  virtual Result<std::vector<ProviderRow>> list_providers(const Page& page) = 0;  // by id
  virtual Result<ProviderRow> get_provider(std::string_view id) = 0;
  // Replaces name, definition, updated_at and the pull state (etag,
  // last_modified, cursor: cleared by the caller when the source changed).
  virtual boost::asio::awaitable<Status> update_provider(ProviderRow row) = 0;
  virtual boost::asio::awaitable<Status> delete_provider(std::string id) = 0;
  // Writes a pull's results; returns the sync record as stored (with its counts).
  virtual boost::asio::awaitable<Result<SyncRow>> store_pull(std::shared_ptr<PullWrite> pull) = 0;
  // Newest first, before the cursor (0: from the newest).
  virtual Result<std::vector<SyncRow>> list_syncs(std::string_view provider_id, std::int64_t before_seq,
                                                  std::size_t limit) = 0;
  virtual Result<std::vector<SearchablePlan>> searchable_plans(std::string_view provider_id) = 0;
  // Items of one provider after item_id `after`, in item_id order.
  virtual Result<std::vector<ItemRow>> list_items(std::string_view provider_id, std::string_view after,
                                                  std::size_t limit) = 0;
};

}  // namespace daisy
