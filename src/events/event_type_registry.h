#pragma once
// The event types in force, compiled, for the ingest path. Readers take a
// snapshot (one shared_ptr copy per request) and look types up without locks;
// the event-types API replaces an entry after its change has committed.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/event_schema.h"
#include "store/store.h"

namespace daisy::events {

struct EventType {
  EventTypeRow row;
  std::shared_ptr<const EventSchema> schema;
};

// Orders (category, name) keys and lets string_view pairs look them up.
struct TypeKeyLess {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return std::pair<std::string_view, std::string_view>(a.first, a.second) <
           std::pair<std::string_view, std::string_view>(b.first, b.second);
  }
};

class EventTypeRegistry {
 public:
  using Map = std::map<std::pair<std::string, std::string>, std::shared_ptr<const EventType>, TypeKeyLess>;

  // Compiles every stored type; throws std::runtime_error naming a stored
  // schema that no longer compiles.
  void load(const std::vector<EventTypeRow>& rows);
  // Brings one type in line with the store, after a change to it committed.
  // Reading the store under the registry's lock orders concurrent refreshes:
  // the last one reads the last committed state, whatever order the changes'
  // completions arrive in. Returns the type now in force (null when deleted).
  std::shared_ptr<const EventType> refresh(Store& store, const std::string& category, const std::string& name);

  std::shared_ptr<const Map> snapshot() const;

 private:
  void put_locked(std::shared_ptr<const EventType> type);
  void remove_locked(const std::string& category, const std::string& name);

  mutable std::mutex mu_;
  std::shared_ptr<const Map> types_ = std::make_shared<Map>();
};

// A lookup in a snapshot: null when the type is unknown.
const EventType* find_type(const EventTypeRegistry::Map& types, std::string_view category, std::string_view name);

// Which apps refuse events of unknown types (the default is to accept them).
class UnknownTypePolicies {
 public:
  void load(const std::vector<std::string>& rejecting_app_ids);
  // Brings one app's policy in line with the store (see EventTypeRegistry::refresh).
  void refresh(Store& store, const std::string& app_id);
  bool rejects(const std::string& app_id) const;

 private:
  void set_locked(const std::string& app_id, bool reject);

  mutable std::mutex mu_;
  std::vector<std::string> rejecting_;  // few apps: a vector beats a hash set here
};

}  // namespace daisy::events
