#pragma once
// The event types in force, compiled, for the ingest path. Readers take a
// snapshot (one shared_ptr copy per request) and look types up without locks;
// the event-types API replaces an entry after its change has committed.

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/event_schema.h"
#include "store/app_store.h"
#include "store/event_store.h"

namespace daisy::events {

struct EventType {
  EventTypeRow row;
  std::shared_ptr<const EventSchema> schema;
};

// The types in force, immutable: a two-level hash table of 64 x 64 buckets,
// each a small vector sorted by (category, name). A change copies the bucket
// it touches and two arrays of 64 pointers, the rest is shared with the table
// before it: a write costs about the same with 10 or 100,000 types.
class TypeTable {
 public:
  const EventType* find(std::string_view category, std::string_view name) const;
  std::size_t size() const { return size_; }
  // A new table with `type` put in (replacing one of the same key), or with
  // the key removed.
  std::shared_ptr<const TypeTable> with(std::shared_ptr<const EventType> type) const;
  std::shared_ptr<const TypeTable> without(std::string_view category, std::string_view name) const;

 private:
  static constexpr std::size_t fan_out = 64;
  using Bucket = std::vector<std::shared_ptr<const EventType>>;
  using Middle = std::array<std::shared_ptr<const Bucket>, fan_out>;

  static std::size_t hash(std::string_view category, std::string_view name);
  // A copy of this table whose bucket for `h` is `bucket`.
  std::shared_ptr<const TypeTable> replacing(std::size_t h, Bucket bucket, std::size_t size) const;
  const Bucket* bucket(std::size_t h) const;

  std::array<std::shared_ptr<const Middle>, fan_out> top_;
  std::size_t size_ = 0;
};

class EventTypeRegistry {
 public:
  using Map = TypeTable;

  // Compiles every stored type; throws std::runtime_error naming a stored
  // schema that no longer compiles.
  void load(const std::vector<EventTypeRow>& rows);
  // As Authenticator::replace_app_tokens_if_unchanged: a reload replaces the
  // types only if no refresh ran since local_changes() was taken. Throws as load.
  std::uint64_t local_changes() const;
  bool load_if_unchanged(const std::vector<EventTypeRow>& rows, std::uint64_t local_changes_seen);
  // Brings one type in line with the store, after a change to it committed.
  // Reading the store under the registry's lock orders concurrent refreshes:
  // the last one reads the last committed state, whatever order the changes'
  // completions arrive in. Returns the type now in force (null when deleted).
  std::shared_ptr<const EventType> refresh(EventStore& store, const std::string& category, const std::string& name);

  std::shared_ptr<const Map> snapshot() const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Map> types_ = std::make_shared<Map>();
  std::uint64_t local_changes_ = 0;  // refresh calls
};

// A lookup in a snapshot: null when the type is unknown.
const EventType* find_type(const EventTypeRegistry::Map& types, std::string_view category, std::string_view name);

// Which apps refuse events of unknown types (the default is to accept them).
class UnknownTypePolicies {
 public:
  void load(const std::vector<std::string>& rejecting_app_ids);
  // As Authenticator::replace_app_tokens_if_unchanged: a reload replaces the
  // policies only if no refresh ran since local_changes() was taken.
  std::uint64_t local_changes() const;
  bool load_if_unchanged(const std::vector<std::string>& rejecting_app_ids, std::uint64_t local_changes_seen);
  // Brings one app's policy in line with the store (see EventTypeRegistry::refresh).
  void refresh(AppStore& store, const std::string& app_id);
  bool rejects(const std::string& app_id) const;

 private:
  void set_locked(const std::string& app_id, bool reject);

  mutable std::mutex mu_;
  std::vector<std::string> rejecting_;  // few apps: a vector beats a hash set here
  std::uint64_t local_changes_ = 0;     // refresh calls
};

}  // namespace daisy::events
