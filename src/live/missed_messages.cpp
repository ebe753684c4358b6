#include "live/missed_messages.h"

#include <algorithm>
#include <memory>

#include "store/record_json.h"
#include "util/iso8601.h"
#include "util/time.h"

namespace daisy::live {
namespace {

// How far before the client's last message a read-back starts: longer than a
// request takes from its timestamp to its commit and publication.
constexpr std::int64_t slack_ms = 5000;
// Rows of each kind one read-back reads, and the data it may return.
constexpr std::size_t max_rows = 2000;
constexpr std::size_t max_data_bytes = 8u << 20;

std::string scope_app(const LiveFilter& filter) {
  return filter.scope_app_id.empty() ? filter.app_id : filter.scope_app_id;
}

}  // namespace

bool replayable(const LiveFilter& filter) {
  return filter.wants(Kind::response_created) || filter.wants(Kind::response_updated) ||
         filter.wants(Kind::event_created);
}

Result<MissedMessages> read_missed(Store& store, const LiveFilter& filter, std::int64_t since_ms) {
  const std::int64_t from_ms = since_ms - slack_ms;
  MissedMessages missed;
  // A message without an attribute the filter names never matches: responses
  // have no category or integration, events no form or integration.
  bool responses = (filter.wants(Kind::response_created) || filter.wants(Kind::response_updated)) &&
                   filter.category.empty() && filter.integration_id.empty();
  bool events = filter.wants(Kind::event_created) && filter.form_id.empty() && filter.integration_id.empty();
  if (responses) {
    auto rows = store.responses_updated_since(
        {.since = format_utc(Clock::time_point(std::chrono::milliseconds(std::max<std::int64_t>(from_ms, 0)))),
         .form_id = filter.form_id,
         .app_id = scope_app(filter),
         .limit = max_rows});
    if (!rows.is_ok()) return rows.status();
    missed.complete = missed.complete && rows.value().size() < max_rows;
    for (const ResponseRow& row : rows.value()) {
      LiveMessage m;
      m.kind = row.revision > 1 ? Kind::response_updated : Kind::response_created;
      m.app_id = row.app_id;
      m.form_id = row.form_id;
      if (!filter.matches(m)) continue;
      m.data = std::make_shared<const std::string>(response_json(row));
      m.at_ms = parse_timestamp_ns(row.updated_at).value_or(0) / 1'000'000;
      missed.messages.push_back(std::move(m));
    }
  }
  if (events) {
    auto rows = store.events_received_since(
        {.since_ns = from_ms * 1'000'000, .app_id = scope_app(filter), .category = filter.category, .limit = max_rows});
    if (!rows.is_ok()) return rows.status();
    missed.complete = missed.complete && rows.value().size() < max_rows;
    for (const EventRow& row : rows.value()) {
      LiveMessage m;
      m.kind = Kind::event_created;
      m.app_id = row.app_id;
      m.category = row.category;
      if (!filter.matches(m)) continue;
      std::string json;
      append_event(json, row);
      m.data = std::make_shared<const std::string>(std::move(json));
      m.at_ms = row.received_ns / 1'000'000;
      missed.messages.push_back(std::move(m));
    }
  }
  std::stable_sort(missed.messages.begin(), missed.messages.end(),
                   [](const LiveMessage& a, const LiveMessage& b) { return a.at_ms < b.at_ms; });
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < missed.messages.size(); ++i) {
    bytes += missed.messages[i].data->size();
    if (bytes > max_data_bytes) {
      missed.messages.resize(i);
      missed.complete = false;
      break;
    }
  }
  return missed;
}

}  // namespace daisy::live
