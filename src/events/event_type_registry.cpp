#include "events/event_type_registry.h"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <stdexcept>

namespace daisy::events {

void EventTypeRegistry::load(const std::vector<EventTypeRow>& rows) {
  auto map = std::make_shared<Map>();
  for (const auto& row : rows) {
    auto type = std::make_shared<EventType>();
    type->row = row;
    try {
      type->schema = EventSchema::compile(boost::json::parse(row.schema));
    } catch (const std::exception& e) {
      throw std::runtime_error("stored event type '" + row.category + "/" + row.name +
                               "' has a schema that does not compile: " + e.what());
    }
    (*map)[{row.category, row.name}] = std::move(type);
  }
  std::lock_guard lock(mu_);
  types_ = std::move(map);
}

std::shared_ptr<const EventType> EventTypeRegistry::refresh(Store& store, const std::string& category,
                                                            const std::string& name) {
  std::lock_guard lock(mu_);
  auto row = store.get_event_type(category, name);
  if (!row.is_ok()) {
    if (row.status().code() == Status::Code::not_found) remove_locked(category, name);
    return nullptr;
  }
  auto type = std::make_shared<EventType>();
  type->row = std::move(row.value());
  type->schema = EventSchema::compile(boost::json::parse(type->row.schema));
  put_locked(type);
  return type;
}

void EventTypeRegistry::put_locked(std::shared_ptr<const EventType> type) {
  auto map = std::make_shared<Map>(*types_);
  (*map)[{type->row.category, type->row.name}] = std::move(type);
  types_ = std::move(map);
}

void EventTypeRegistry::remove_locked(const std::string& category, const std::string& name) {
  auto map = std::make_shared<Map>(*types_);
  map->erase({category, name});
  types_ = std::move(map);
}

std::shared_ptr<const EventTypeRegistry::Map> EventTypeRegistry::snapshot() const {
  std::lock_guard lock(mu_);
  return types_;
}

const EventType* find_type(const EventTypeRegistry::Map& types, std::string_view category, std::string_view name) {
  auto it = types.find(std::pair<std::string_view, std::string_view>(category, name));
  return it == types.end() ? nullptr : it->second.get();
}

void UnknownTypePolicies::load(const std::vector<std::string>& rejecting_app_ids) {
  std::lock_guard lock(mu_);
  rejecting_ = rejecting_app_ids;
}

void UnknownTypePolicies::refresh(Store& store, const std::string& app_id) {
  std::lock_guard lock(mu_);
  auto app = store.get_app(app_id);
  set_locked(app_id, app.is_ok() && app.value().unknown_event_types == "reject");
}

void UnknownTypePolicies::set_locked(const std::string& app_id, bool reject) {
  auto it = std::find(rejecting_.begin(), rejecting_.end(), app_id);
  if (reject && it == rejecting_.end()) rejecting_.push_back(app_id);
  if (!reject && it != rejecting_.end()) rejecting_.erase(it);
}

bool UnknownTypePolicies::rejects(const std::string& app_id) const {
  std::lock_guard lock(mu_);
  return std::find(rejecting_.begin(), rejecting_.end(), app_id) != rejecting_.end();
}

}  // namespace daisy::events
