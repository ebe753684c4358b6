#include "events/event_type_registry.h"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <functional>
#include <stdexcept>

namespace daisy::events {

std::size_t TypeTable::hash(std::string_view category, std::string_view name) {
  std::size_t h = std::hash<std::string_view>{}(category);
  return h ^ (std::hash<std::string_view>{}(name) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

const TypeTable::Bucket* TypeTable::bucket(std::size_t h) const {
  const auto& middle = top_[h % fan_out];
  if (!middle) return nullptr;
  return (*middle)[(h / fan_out) % fan_out].get();
}

namespace {

bool key_less(const EventType& t, std::string_view category, std::string_view name) {
  return std::pair<std::string_view, std::string_view>(t.row.category, t.row.name) <
         std::pair<std::string_view, std::string_view>(category, name);
}

}  // namespace

const EventType* TypeTable::find(std::string_view category, std::string_view name) const {
  const Bucket* b = bucket(hash(category, name));
  if (!b) return nullptr;
  auto it = std::lower_bound(b->begin(), b->end(), std::pair(category, name),
                             [](const auto& t, const auto& key) { return key_less(*t, key.first, key.second); });
  if (it == b->end() || (*it)->row.category != category || (*it)->row.name != name) return nullptr;
  return it->get();
}

std::shared_ptr<const TypeTable> TypeTable::replacing(std::size_t h, Bucket bucket, std::size_t size) const {
  auto next = std::make_shared<TypeTable>(*this);
  auto& middle = next->top_[h % fan_out];
  auto copy = middle ? std::make_shared<Middle>(*middle) : std::make_shared<Middle>();
  (*copy)[(h / fan_out) % fan_out] = bucket.empty() ? nullptr : std::make_shared<const Bucket>(std::move(bucket));
  middle = std::move(copy);
  next->size_ = size;
  return next;
}

std::shared_ptr<const TypeTable> TypeTable::with(std::shared_ptr<const EventType> type) const {
  const std::string& category = type->row.category;
  const std::string& name = type->row.name;
  std::size_t h = hash(category, name);
  const Bucket* old = bucket(h);
  Bucket b = old ? *old : Bucket{};
  auto it = std::lower_bound(b.begin(), b.end(), std::pair<std::string_view, std::string_view>(category, name),
                             [](const auto& t, const auto& key) { return key_less(*t, key.first, key.second); });
  bool replaces = it != b.end() && (*it)->row.category == category && (*it)->row.name == name;
  if (replaces) {
    *it = std::move(type);
  } else {
    b.insert(it, std::move(type));
  }
  return replacing(h, std::move(b), size_ + (replaces ? 0 : 1));
}

std::shared_ptr<const TypeTable> TypeTable::without(std::string_view category, std::string_view name) const {
  std::size_t h = hash(category, name);
  const Bucket* old = bucket(h);
  if (!old) return std::make_shared<TypeTable>(*this);
  Bucket b = *old;
  auto it = std::find_if(b.begin(), b.end(),
                         [&](const auto& t) { return t->row.category == category && t->row.name == name; });
  if (it == b.end()) return std::make_shared<TypeTable>(*this);
  b.erase(it);
  return replacing(h, std::move(b), size_ - 1);
}

void EventTypeRegistry::load(const std::vector<EventTypeRow>& rows) { load_if_unchanged(rows, local_changes()); }

std::uint64_t EventTypeRegistry::local_changes() const {
  std::lock_guard lock(mu_);
  return local_changes_;
}

bool EventTypeRegistry::load_if_unchanged(const std::vector<EventTypeRow>& rows, std::uint64_t local_changes_seen) {
  auto table = std::make_shared<const TypeTable>();
  for (const auto& row : rows) {
    auto type = std::make_shared<EventType>();
    type->row = row;
    try {
      type->schema = EventSchema::compile(boost::json::parse(row.schema));
    } catch (const std::exception& e) {
      throw std::runtime_error("stored event type '" + row.category + "/" + row.name +
                               "' has a schema that does not compile: " + e.what());
    }
    table = table->with(std::move(type));
  }
  std::lock_guard lock(mu_);
  if (local_changes_ != local_changes_seen) return false;
  types_ = std::move(table);
  return true;
}

std::shared_ptr<const EventType> EventTypeRegistry::refresh(EventStore& store, const std::string& category,
                                                            const std::string& name) {
  std::lock_guard lock(mu_);
  ++local_changes_;
  auto row = store.get_event_type(category, name);
  if (!row.is_ok()) {
    if (row.status().code() == Status::Code::not_found) types_ = types_->without(category, name);
    return nullptr;
  }
  auto type = std::make_shared<EventType>();
  type->row = std::move(row.value());
  type->schema = EventSchema::compile(boost::json::parse(type->row.schema));
  types_ = types_->with(type);
  return type;
}

std::shared_ptr<const EventTypeRegistry::Map> EventTypeRegistry::snapshot() const {
  std::lock_guard lock(mu_);
  return types_;
}

const EventType* find_type(const EventTypeRegistry::Map& types, std::string_view category, std::string_view name) {
  return types.find(category, name);
}

void UnknownTypePolicies::load(const std::vector<std::string>& rejecting_app_ids) {
  load_if_unchanged(rejecting_app_ids, local_changes());
}

std::uint64_t UnknownTypePolicies::local_changes() const {
  std::lock_guard lock(mu_);
  return local_changes_;
}

bool UnknownTypePolicies::load_if_unchanged(const std::vector<std::string>& rejecting_app_ids,
                                            std::uint64_t local_changes_seen) {
  std::lock_guard lock(mu_);
  if (local_changes_ != local_changes_seen) return false;
  rejecting_ = rejecting_app_ids;
  return true;
}

void UnknownTypePolicies::refresh(AppStore& store, const std::string& app_id) {
  std::lock_guard lock(mu_);
  ++local_changes_;
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
