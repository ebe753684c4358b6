// Watch: GET /v1/stream's messages as a server stream of Changes. The
// subscription is the live bus's (live/live_bus.h), with the same filters,
// the same app scope and the same cursors. A resume beyond the ring first
// reads what was missed back from the store, as HTTP does
// (live/missed_messages.h), and starts with a "gap" Change only when that
// could not all be read back. One write at a time: the next batch is awaited only once the
// previous Changes are written, so a slow watcher is held to the ring's
// bound and then ended (ABORTED), never buffered without limit.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <deque>
#include <optional>

#include "live/live_bus.h"
#include "live/missed_messages.h"
#include "live/stream_cursor.h"
#include "rpc/call_auth.h"
#include "rpc/daisy_service.h"
#include "rpc/proto_json.h"
#include "rpc/rpc_status.h"

namespace daisy::rpc {
namespace {

namespace asio = boost::asio;
namespace v1 = daisy::v1;

constexpr std::size_t max_filter_length = 200;
// How long one wait for messages lasts: a cancelled watch ends within it.
constexpr auto wait_slice = std::chrono::seconds(1);

class WatchStream final : public grpc::ServerWriteReactor<v1::Change> {
 public:
  // read_back: the filter and the time of the client's last Change when it
  // resumes from a place the ring may no longer hold.
  struct ReadBack {
    Store& store;
    live::LiveFilter filter;
    std::int64_t since_ms;
  };
  WatchStream(asio::any_io_executor executor, std::shared_ptr<live::Subscription> subscription, std::uint64_t epoch,
              std::optional<ReadBack> read_back)
      : executor_(std::move(executor)), subscription_(std::move(subscription)), epoch_(epoch) {
    // At once: a client waiting for the headers knows the watch is subscribed.
    StartSendInitialMetadata();
    if (read_back && subscription_->starts_with_gap() && live::replayable(read_back->filter)) {
      asio::post(executor_, [this, read_back = std::move(*read_back)] {
        // Subscribed first: what is published while the store is read comes
        // from the ring too (perhaps twice), never not at all.
        auto missed = live::read_missed(read_back.store, read_back.filter, read_back.since_ms);
        if (missed.is_ok()) {
          if (missed.value().complete) subscription_->drop_gap();
          for (const live::LiveMessage& m : missed.value().messages) add_change(m);
        }
        write_next();
      });
      return;
    }
    fetch();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "The watcher went away."));
      return;
    }
    write_next();
  }
  void OnCancel() override { cancelled_ = true; }
  void OnDone() override { delete this; }

 private:
  void write_next() {
    if (pending_.empty()) {
      fetch();
      return;
    }
    change_ = std::move(pending_.front());
    pending_.pop_front();
    StartWrite(&change_);
  }

  void fetch() {
    asio::co_spawn(
        executor_, subscription_->next(wait_slice), [this](std::exception_ptr error, live::Subscription::Batch batch) {
          if (error || cancelled_) {
            Finish(grpc::Status(grpc::StatusCode::CANCELLED, "The watch was cancelled."));
            return;
          }
          if (batch.closed) {
            Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "The server is stopping; resume from the last cursor."));
            return;
          }
          if (batch.behind) {
            Finish(
                grpc::Status(grpc::StatusCode::ABORTED, "The watch fell too far behind; resume from the last cursor."));
            return;
          }
          take(batch);
          write_next();
        });
  }

  void take(const live::Subscription::Batch& batch) {
    if (batch.gap) {
      v1::Change& gap = pending_.emplace_back();
      gap.set_type("gap");
      (*gap.mutable_data()->mutable_fields())["reason"].set_string_value(
          "the messages after `after` are no longer held; reload what you show");
    }
    for (const auto& m : batch.messages) add_change(*m);
  }

  void add_change(const live::LiveMessage& m) {
    v1::Change& change = pending_.emplace_back();
    std::string cursor;
    live::append_cursor(cursor, epoch_, m);
    change.set_cursor(std::move(cursor));
    change.set_type(std::string(live::name_of(m.kind)));
    json_text_to_struct(*m.data, *change.mutable_data());
  }

  asio::any_io_executor executor_;
  std::shared_ptr<live::Subscription> subscription_;
  std::uint64_t epoch_;
  std::deque<v1::Change> pending_;
  v1::Change change_;
  std::atomic<bool> cancelled_{false};
};

class RefusedWatch final : public grpc::ServerWriteReactor<v1::Change> {
 public:
  explicit RefusedWatch(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

// The filter a watch asks for, or its refusal (INVALID_ARGUMENT, or
// PERMISSION_DENIED beyond an app token's scope).
std::optional<grpc::Status> read_filter(const v1::WatchRequest& request, const Principal& caller,
                                        live::LiveFilter& filter) {
  std::vector<FieldError> errors;
  for (int i = 0; i < request.types_size(); ++i) {
    live::Kind kind;
    if (!live::kind_named(request.types(i), kind)) {
      errors.push_back({"types[" + std::to_string(i) + "]",
                        "must be one of response.created, response.updated, event.created, event.rejected, "
                        "job.updated, sync.finished"});
      continue;
    }
    filter.kinds.set(static_cast<std::size_t>(kind));
  }
  for (auto [name, value, target] : {std::tuple{"app_id", &request.app_id(), &filter.app_id},
                                     std::tuple{"form_id", &request.form_id(), &filter.form_id},
                                     std::tuple{"category", &request.category(), &filter.category},
                                     std::tuple{"integration_id", &request.integration_id(), &filter.integration_id}}) {
    if (value->size() > max_filter_length) errors.push_back({name, "must be at most 200 characters"});
    *target = *value;
  }
  if (!errors.empty()) return invalid_argument("The request is not valid.", errors);
  if (caller.is_app()) {
    std::string refusal = live::scope_to_app(filter, caller.app_id);
    if (!refusal.empty()) return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, refusal);
  }
  return std::nullopt;
}

}  // namespace

grpc::ServerWriteReactor<v1::Change>* DaisyService::Watch(grpc::CallbackServerContext* call,
                                                          const v1::WatchRequest* request) {
  Principal caller;
  if (auto refusal = authorize(*call, context().auth, Needs::app_or_admin, caller)) return new RefusedWatch(*refusal);
  live::LiveBus* bus = context().live;
  if (!bus) return new RefusedWatch(grpc::Status(grpc::StatusCode::UNAVAILABLE, "Live streams are off."));
  live::LiveFilter filter;
  if (auto refusal = read_filter(*request, caller, filter)) return new RefusedWatch(*refusal);
  std::optional<std::uint64_t> after;
  std::optional<WatchStream::ReadBack> read_back;
  if (!request->after().empty()) {
    auto point = live::read_cursor(request->after(), bus->epoch());
    if (!point) {
      return new RefusedWatch(
          invalid_argument("The request is not valid.", {{"after", "must be the cursor of a Change of this stream"}}));
    }
    after = point->after;
    if (point->at_ms) read_back.emplace(WatchStream::ReadBack{context().store, filter, *point->at_ms});
  }
  auto subscription = bus->subscribe(std::move(filter), after, executor());
  if (!subscription) {
    return new RefusedWatch(
        grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "Too many live streams are open; try again later."));
  }
  return new WatchStream(executor(), std::move(subscription), bus->epoch(), std::move(read_back));
}

}  // namespace daisy::rpc
