#include "api/stream_replay.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "live/stream_cursor.h"
#include "store/record_json.h"
#include "util/append.h"
#include "util/iso8601.h"
#include "util/time.h"

namespace daisy::api {
namespace {

// How far before the client's last message a replay starts: longer than a
// request takes from its timestamp to its commit and publication.
constexpr std::int64_t slack_ms = 5000;
// Rows of each kind one replay reads, and the text it may build.
constexpr std::size_t max_rows = 2000;
constexpr std::size_t max_text_bytes = 8u << 20;

std::string scope_app(const live::LiveFilter& filter) {
  return filter.scope_app_id.empty() ? filter.app_id : filter.scope_app_id;
}

}  // namespace

void append_stream_message(std::string& out, std::uint64_t epoch, const live::LiveMessage& m) {
  out += "id: ";
  live::append_cursor(out, epoch, m);
  out += "\nevent: ";
  out += live::name_of(m.kind);
  out += "\ndata: ";
  out += *m.data;  // one line: compact JSON escapes every newline
  out += "\n\n";
}

bool replayable(const live::LiveFilter& filter) {
  return filter.wants(live::Kind::response_created) || filter.wants(live::Kind::response_updated) ||
         filter.wants(live::Kind::event_created);
}

Result<Replay> replay_since(Store& store, const live::LiveFilter& filter, std::int64_t since_ms, std::uint64_t epoch) {
  const std::int64_t from_ms = since_ms - slack_ms;
  // n = 0: no place in the ring; a resume from one reads back again from its at_ms.
  std::vector<live::LiveMessage> missed;
  Replay replay;
  // A message without an attribute the filter names never matches: responses
  // have no category or integration, events no form or integration.
  bool responses = (filter.wants(live::Kind::response_created) || filter.wants(live::Kind::response_updated)) &&
                   filter.category.empty() && filter.integration_id.empty();
  bool events = filter.wants(live::Kind::event_created) && filter.form_id.empty() && filter.integration_id.empty();
  if (responses) {
    auto rows = store.responses_updated_since(
        {.since = format_utc(Clock::time_point(std::chrono::milliseconds(std::max<std::int64_t>(from_ms, 0)))),
         .form_id = filter.form_id,
         .app_id = scope_app(filter),
         .limit = max_rows});
    if (!rows.is_ok()) return rows.status();
    replay.complete = replay.complete && rows.value().size() < max_rows;
    for (const ResponseRow& row : rows.value()) {
      live::LiveMessage m;
      m.kind = row.revision > 1 ? live::Kind::response_updated : live::Kind::response_created;
      m.app_id = row.app_id;
      m.form_id = row.form_id;
      if (!filter.matches(m)) continue;
      m.data = std::make_shared<const std::string>(response_json(row));
      m.at_ms = parse_timestamp_ns(row.updated_at).value_or(0) / 1'000'000;
      missed.push_back(std::move(m));
    }
  }
  if (events) {
    auto rows = store.events_received_since(
        {.since_ns = from_ms * 1'000'000, .app_id = scope_app(filter), .category = filter.category, .limit = max_rows});
    if (!rows.is_ok()) return rows.status();
    replay.complete = replay.complete && rows.value().size() < max_rows;
    for (const EventRow& row : rows.value()) {
      live::LiveMessage m;
      m.kind = live::Kind::event_created;
      m.app_id = row.app_id;
      m.category = row.category;
      if (!filter.matches(m)) continue;
      std::string json;
      append_event(json, row);
      m.data = std::make_shared<const std::string>(std::move(json));
      m.at_ms = row.received_ns / 1'000'000;
      missed.push_back(std::move(m));
    }
  }
  std::stable_sort(missed.begin(), missed.end(),
                   [](const live::LiveMessage& a, const live::LiveMessage& b) { return a.at_ms < b.at_ms; });
  for (const live::LiveMessage& m : missed) {
    if (replay.text.size() > max_text_bytes) {
      replay.complete = false;
      break;
    }
    append_stream_message(replay.text, epoch, m);
  }
  return replay;
}

}  // namespace daisy::api
