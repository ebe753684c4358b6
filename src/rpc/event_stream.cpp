// StreamEvents: batches of events on one long-lived stream. Up to
// `window` messages of a stream are worked on at once (read, ingested on the
// service's executor, committed), so a producer that sends ahead of its acks
// fills the group commits as several connections would; their Acks are
// written in the order the messages came, each after its own commit. A
// message that cannot be stored ends the stream once the acks before it are
// written: every acked batch is stored, and nothing is acked that was not.
// Memory per stream is bounded by `window` messages of at most the message
// size limit.
//
// Each message is read into an arena of its own (an event's strings, Struct
// map and Values, each allocated alone before, become a few blocks), handed
// with it to the ingestion and freed whole when the batch is done.
#include <google/protobuf/arena.h>

#include <boost/asio/co_spawn.hpp>

#include <spdlog/spdlog.h>

#include <map>
#include <memory>
#include <mutex>
#include <utility>  // std::exchange
#include <variant>

#include "rpc/call_auth.h"
#include "rpc/daisy_service.h"
#include "rpc/event_messages.h"
#include "rpc/rpc_status.h"

namespace daisy::rpc {
namespace {

namespace asio = boost::asio;
namespace v1 = daisy::v1;

constexpr std::size_t window = 8;  // messages of one stream in flight

class EventStream final : public grpc::ServerBidiReactor<v1::EventBatch, v1::Ack> {
 public:
  EventStream(DaisyService& service, const grpc::CallbackServerContext& call, std::string app_id)
      : service_(service), call_(call), app_id_(std::move(app_id)) {
    std::lock_guard lock(mu_);
    read_next();
  }

  void OnReadDone(bool ok) override {
    std::lock_guard lock(mu_);
    reading_ = false;
    if (!ok) {  // the client closed its side, or the call ended
      reads_done_ = true;
      finish_if_done();
      return;
    }
    if (failed_) {
      finish_if_done();
      return;
    }
    auto slot = service_.enter();
    if (!slot) {
      fail(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "Too many calls are in flight; retry this batch shortly with backoff."));
      return;
    }
    std::uint64_t sequence = ++read_count_;
    ++in_flight_;
    asio::co_spawn(
        service_.executor(),
        [](EventStream& self, std::unique_ptr<google::protobuf::Arena> /*holds batch*/, const v1::EventBatch* batch,
           DaisyService::InFlight) -> asio::awaitable<BatchOutcome> {
          co_return co_await ingest_batch(self.service_.context(), *batch, self.app_id_);
        }(*this, std::move(read_arena_), std::exchange(read_buffer_, nullptr), std::move(*slot)),
        [this, sequence](std::exception_ptr error, BatchOutcome outcome) {
          std::lock_guard lock(mu_);
          --in_flight_;
          if (error) {
            spdlog::error("msg=\"grpc stream failed\" method=StreamEvents");
            outcome.status = grpc::Status(grpc::StatusCode::INTERNAL, "The stream failed; the error has been logged.");
          }
          done_[sequence] = std::move(outcome);
          write_next();
          read_next();
          finish_if_done();
        });
    read_next();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!ok) {
      fail(grpc::Status(grpc::StatusCode::CANCELLED, "The stream ended before the ack was sent."));
      return;
    }
    write_next();
    read_next();
    finish_if_done();
  }

  void OnDone() override { delete this; }

 private:
  // The members below are guarded by mu_: gRPC's reactions and the
  // ingestions' completions come on different threads.
  void read_next() {
    if (reading_ || reads_done_ || failed_ || in_flight_ + done_.size() >= window) return;
    reading_ = true;
    if (!read_buffer_) {
      google::protobuf::ArenaOptions options;
      options.start_block_size = 16 * 1024;
      options.max_block_size = 256 * 1024;
      read_arena_ = std::make_unique<google::protobuf::Arena>(options);
      read_buffer_ = google::protobuf::Arena::CreateMessage<v1::EventBatch>(read_arena_.get());
    }
    StartRead(read_buffer_);
  }

  // The next ack in order, once its message is committed; a failed message
  // ends the stream instead.
  void write_next() {
    if (writing_ || failed_) return;
    auto it = done_.find(written_ + 1);
    if (it == done_.end()) return;
    BatchOutcome outcome = std::move(it->second);
    done_.erase(it);
    ++written_;
    if (!outcome.status.ok()) {
      fail(outcome.status);
      return;
    }
    ack_.Clear();
    ack_.set_sequence(written_);
    fill_outcome(outcome.result, ack_);
    writing_ = true;
    StartWrite(&ack_);
  }

  void fail(const grpc::Status& status) {
    if (!failed_) status_ = status;
    failed_ = true;
    finish_if_done();
  }

  // Finish only once no ingestion still refers to this reactor (OnDone
  // deletes it) and no write is pending.
  void finish_if_done() {
    if (finished_ || in_flight_ > 0 || writing_) return;
    if (!failed_ && !(reads_done_ && done_.empty())) return;
    finished_ = true;
    if (call_.IsCancelled()) {
      Finish(abandoned(call_));
    } else {
      Finish(failed_ ? status_ : grpc::Status::OK);
    }
  }

  DaisyService& service_;
  const grpc::CallbackServerContext& call_;  // valid until OnDone (gRPC's contract)
  std::string app_id_;
  std::recursive_mutex mu_;  // recursive: a Start* call may run its reaction inline
  std::unique_ptr<google::protobuf::Arena> read_arena_;
  v1::EventBatch* read_buffer_ = nullptr;  // in read_arena_
  v1::Ack ack_;
  std::map<std::uint64_t, BatchOutcome> done_;  // committed (or failed), not acked yet, by sequence
  std::uint64_t read_count_ = 0, written_ = 0;
  std::size_t in_flight_ = 0;
  bool reading_ = false, writing_ = false, reads_done_ = false, failed_ = false, finished_ = false;
  grpc::Status status_;
};

// A stream refused before its first read.
class RefusedStream final : public grpc::ServerBidiReactor<v1::EventBatch, v1::Ack> {
 public:
  explicit RefusedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerBidiReactor<v1::EventBatch, v1::Ack>* DaisyService::StreamEvents(grpc::CallbackServerContext* call) {
  Principal caller;
  if (auto refusal = authorize(*call, context().auth, Needs::app, caller)) return new RefusedStream(*refusal);
  return new EventStream(*this, *call, caller.app_id);
}

}  // namespace daisy::rpc
