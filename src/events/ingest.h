#pragma once
// Ingesting events, without HTTP. Each event an app sends is checked (its
// envelope, its data's size, its type's JSON Schema, the app's policy for
// unknown types); the accepted events, the rejected ones (kept for
// monitoring) and the jobs the accepted ones trigger are stored in one
// transaction; then, for a single event, the sync integrations answer
// (jobs/record_actions.h). A front end (api/event_ingest.cpp reads JSON,
// batches, NDJSON and gzip) turns its body into SentEvents and the result into
// its reply.

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/event.h"
#include "domain/field_error.h"
#include "events/events_state.h"
#include "jobs/integration_registry.h"
#include "store/event_store.h"

namespace daisy::jobs {
class JobRunner;
}

namespace daisy::live {
class LiveBus;
}

namespace daisy::events {

// One event as sent: parsed, or why it could not be.
struct SentEvent {
  const boost::json::value* value = nullptr;  // null when parse_error is set
  std::string_view raw;                       // its text as sent, when known (kept if it is rejected)
  std::string parse_error;
};

struct IngestResult {
  Status status;                                                          // not ok: nothing was stored
  std::vector<std::string> ids;                                           // of the accepted events, in order
  std::vector<std::pair<std::size_t, std::vector<FieldError>>> rejected;  // (index as sent, why)
  std::vector<jobs::TriggeredAction> actions;
};

// What the ingestion works with (references to what the wiring owns).
struct IngestServices {
  EventStore& store;
  EventsState& state;
  const jobs::IntegrationRegistry* integrations = nullptr;  // null: no actions
  jobs::JobRunner* runner = nullptr;
  live::LiveBus* live = nullptr;  // told of each event and rejection stored
};

// One request's ingestion, for one app. Use once: either ingest(), or
// reject() the whole body and store_rejections().
class EventIngest {
 public:
  EventIngest(IngestServices services, std::string app_id);

  // Records the rejection of something sent (the whole body when it cannot
  // be read): kept with the batch, counted in /metrics once stored.
  void reject(RejectionReason reason, const std::vector<FieldError>& errors, std::string_view raw);
  // Stores only the rejections recorded so far (the body was refused as a whole).
  boost::asio::awaitable<Status> store_rejections();
  // Checks and stores the events; single: one event sent alone (sync
  // integrations are called for it, never for a batch).
  boost::asio::awaitable<IngestResult> ingest(std::vector<SentEvent>& events, bool single);

 private:
  // The event's row, or its errors (and the reason they are counted under).
  bool check(const SentEvent& sent, const TypeTable& types, bool reject_unknown, std::vector<FieldError>& errors,
             RejectionReason& reason, EventRow& row);
  boost::asio::awaitable<Status> commit();
  // Tells the live streams of what commit() stored.
  void announce() const;
  // Removes from the reply's actions the jobs of events that were repeats
  // (acknowledged again, not stored: their jobs were not made either).
  void drop_actions_of_repeats(std::vector<jobs::TriggeredAction>& actions) const;

  IngestServices services_;
  std::string app_id_;
  std::int64_t received_ns_;
  std::shared_ptr<EventBatch> batch_;
  std::vector<RejectionReason> reasons_;  // counted once stored
  std::string data_text_, raw_text_;      // reused between events
};

}  // namespace daisy::events
