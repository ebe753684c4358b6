#include "events/ingest.h"

#include <boost/json/serialize.hpp>

#include <unordered_set>

#include "jobs/record_actions.h"
#include "live/publish.h"
#include "store/record_json.h"
#include "util/ids.h"
#include "util/json_text.h"
#include "util/time.h"
#include "util/utf8.h"

namespace daisy::events {
namespace {

std::string errors_text(const std::vector<FieldError>& errors) {
  return boost::json::serialize(field_errors_json(errors));
}

}  // namespace

EventIngest::EventIngest(IngestServices services, std::string app_id)
    : services_(services), app_id_(std::move(app_id)), received_ns_(now_ns()), batch_(std::make_shared<EventBatch>()) {
  batch_->rejection_cap = services_.state.settings.rejection_cap;
}

void EventIngest::reject(RejectionReason reason, const std::vector<FieldError>& errors, std::string_view raw) {
  RejectionRow& r = batch_->rejections.emplace_back();
  r.app_id = app_id_;
  r.received_ns = received_ns_;
  r.reason = rejection_reason_name(reason);
  r.errors = errors_text(errors);
  // Kept as valid UTF-8 (cut at a character, bad bytes replaced) so the log
  // always reads back as JSON.
  r.payload = sanitize_utf8(raw, services_.state.settings.max_payload_bytes, r.truncated);
  reasons_.push_back(reason);
}

boost::asio::awaitable<Status> EventIngest::commit() {
  Status status = co_await services_.store.insert_events(batch_);
  if (status.is_ok()) {
    for (RejectionReason reason : reasons_) services_.state.count_rejection(reason);
    announce();
  }
  co_return status;
}

void EventIngest::announce() const {
  for (std::size_t i = 0; i < batch_->events.size(); ++i) {
    if (batch_->is_repeated(i)) continue;
    const EventRow& row = batch_->events[i];
    live::publish(services_.live, live::Kind::event_created, {.app_id = row.app_id, .category = row.category}, [&row] {
      std::string json;
      append_event(json, row);
      return json;
    });
  }
  for (const RejectionRow& r : batch_->rejections) {
    live::publish(services_.live, live::Kind::event_rejected, {.app_id = r.app_id},
                  [&r] { return boost::json::serialize(rejection_json(r)); });
  }
}

boost::asio::awaitable<Status> EventIngest::store_rejections() { co_return co_await commit(); }

void EventIngest::drop_actions_of_repeats(std::vector<jobs::TriggeredAction>& actions) const {
  std::unordered_set<std::string_view> not_made;  // jobs of repeats: the store skipped them
  auto repeats = batch_->repeated_ids();
  for (const JobRow& job : batch_->jobs) {
    if (repeats.count(job.source_id)) not_made.insert(job.id);
  }
  std::erase_if(actions, [&](const jobs::TriggeredAction& a) { return not_made.count(a.job_id) > 0; });
}

bool EventIngest::check(const SentEvent& sent, const TypeTable& types, bool reject_unknown,
                        std::vector<FieldError>& errors, RejectionReason& reason, EventRow& row) {
  const EventSettings& settings = services_.state.settings;
  reason = RejectionReason::malformed;
  if (!sent.parse_error.empty()) {
    errors.push_back({"", sent.parse_error});
    return false;
  }
  EventCheck check = check_event(*sent.value, received_ns_, settings.max_future_skew_ns);
  errors = std::move(check.errors);
  reason = check.reason;
  if (!errors.empty()) return false;
  data_text_.clear();
  append_json(data_text_, *check.event.data);
  if (data_text_.size() > settings.max_data_bytes) {
    errors.push_back({"data", "must be at most " + std::to_string(settings.max_data_bytes) + " bytes of JSON"});
    reason = RejectionReason::invalid;
    return false;
  }
  if (const EventType* type = find_type(types, check.event.category, check.event.name)) {
    type->schema->validate(*check.event.data, errors);
    reason = RejectionReason::schema;
  } else if (reject_unknown) {
    errors.push_back({"name", "'" + check.event.category + "' / '" + check.event.name +
                                  "' is not a known event type, and this app refuses unknown types"});
    reason = RejectionReason::unknown_type;
  }
  if (!errors.empty()) return false;
  row.client_id = !check.event.id.empty();
  row.id = row.client_id ? std::move(check.event.id) : new_uuid_v7();
  row.app_id = app_id_;
  row.session_id = std::move(check.event.session_id);
  row.category = std::move(check.event.category);
  row.name = std::move(check.event.name);
  row.ts_ns = check.event.timestamp_ns;
  row.data = data_text_;
  row.received_ns = received_ns_;
  return true;
}

boost::asio::awaitable<IngestResult> EventIngest::ingest(std::vector<SentEvent>& events, bool single) {
  IngestResult result;
  auto types = services_.state.types.snapshot();
  bool reject_unknown = services_.state.unknown_types.rejects(app_id_);
  batch_->events.reserve(events.size());
  std::unordered_set<std::string> client_ids;  // a request's repeats are stored once
  for (std::size_t i = 0; i < events.size(); ++i) {
    const SentEvent& sent = events[i];
    std::vector<FieldError> errors;
    RejectionReason reason;
    EventRow row;
    if (check(sent, *types, reject_unknown, errors, reason, row)) {
      result.ids.push_back(row.id);
      if (!row.client_id || client_ids.insert(row.id).second) batch_->events.push_back(std::move(row));
      continue;
    }
    std::string_view raw = sent.raw;
    if (raw.empty() && sent.parse_error.empty()) {
      raw_text_.clear();
      append_json(raw_text_, *sent.value);
      raw = raw_text_;
    }
    reject(reason, errors, raw);
    result.rejected.emplace_back(i, std::move(errors));
  }

  jobs::RecordActions actions(services_.integrations, services_.runner, app_id_, trigger_event_created);
  if (actions.any()) {
    std::string payload;
    for (const EventRow& row : batch_->events) {
      payload.clear();
      append_event(payload, row);
      actions.add_jobs(row.id, {.json = payload}, batch_->jobs);
    }
  }
  result.status = co_await commit();
  if (!result.status.is_ok()) co_return result;
  if (!batch_->repeated.empty()) drop_actions_of_repeats(actions.actions());
  // Sync integrations answer within a single event's request (a batch would
  // make one call per event: they are not called for batches).
  // (Computed before the co_await: g++ 12 miscompiles a conditional inside
  // a co_await's arguments.)
  std::string_view single_id;
  const EventRow* one = nullptr;
  if (single && !batch_->events.empty() && !batch_->is_repeated(0)) {
    one = &batch_->events.front();
    single_id = one->id;
  }
  std::function<std::string()> payload = [one] {
    std::string json;
    append_event(json, *one);
    return json;
  };
  co_await actions.committed(single_id, payload);
  result.actions = std::move(actions.actions());
  co_return result;
}

}  // namespace daisy::events
