#include "rpc/event_messages.h"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>

#include "events/events_state.h"
#include "rpc/proto_json.h"
#include "rpc/rpc_status.h"

namespace daisy::rpc {

namespace json = boost::json;

std::vector<events::SentEvent> sent_events(const daisy::v1::EventBatch& batch, const json::storage_ptr& storage,
                                           std::deque<json::value>& owned) {
  std::vector<events::SentEvent> sent;
  sent.reserve(static_cast<std::size_t>(batch.events_size()));
  for (const auto& event : batch.events()) {
    events::SentEvent& item = sent.emplace_back();
    json::object envelope(storage);
    // Empty strings are left out, as proto3 cannot tell them from absent: the
    // checks then say the field is required.
    if (!event.id().empty()) envelope["id"] = event.id();
    if (!event.session_id().empty()) envelope["session_id"] = event.session_id();
    if (!event.category().empty()) envelope["category"] = event.category();
    if (!event.name().empty()) envelope["name"] = event.name();
    if (event.has_timestamp()) {
      std::string text;
      if (!timestamp_text(event.timestamp(), text)) {
        item.parse_error = "timestamp is out of range";
        continue;
      }
      envelope["timestamp"] = text;
    }
    if (event.has_data()) {
      std::string bad_path;
      if (!struct_to_json(event.data(), envelope["data"].emplace_object(), "data", bad_path)) {
        item.parse_error = bad_path + " is not a finite number";
        continue;
      }
    }
    item.value = &owned.emplace_back(std::move(envelope));
  }
  return sent;
}

boost::asio::awaitable<BatchOutcome> ingest_batch(RpcContext& ctx, const daisy::v1::EventBatch& batch,
                                                  const std::string& app_id) {
  events::EventIngest ingestion({ctx.store, ctx.events, ctx.integrations, ctx.job_runner, ctx.live}, app_id);
  std::size_t max = ctx.events.settings.max_batch_events;
  BatchOutcome outcome;
  if (batch.events_size() == 0 || static_cast<std::size_t>(batch.events_size()) > max) {
    std::vector<FieldError> errors{{"events", batch.events_size() == 0
                                                  ? std::string("must hold at least one event")
                                                  : "A batch holds at most " + std::to_string(max) + " events."}};
    ingestion.reject(RejectionReason::invalid, errors, {});
    Status logged = co_await ingestion.store_rejections();
    outcome.status =
        logged.is_ok() ? invalid_argument("The batch is not valid.", errors) : store_failure(logged, "rejected event");
    co_return outcome;
  }
  // One arena for the batch's JSON: its many small allocations are one.
  json::storage_ptr storage = json::make_shared_resource<json::monotonic_resource>();
  std::deque<json::value> owned;
  auto items = sent_events(batch, storage, owned);
  outcome.result = co_await ingestion.ingest(items, false);
  if (!outcome.result.status.is_ok()) outcome.status = store_failure(outcome.result.status, "events");
  co_return outcome;
}

}  // namespace daisy::rpc
