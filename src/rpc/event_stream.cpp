// StreamEvents: batches of events on one long-lived stream. One message is
// worked on at a time: read, ingested (on the service's executor), its Ack
// written after the commit, then the next read. So acks come in order, a
// client's flow control is the stream's, and a call cut mid-way leaves every
// acked batch stored and nothing acked that was not.
#include <boost/asio/co_spawn.hpp>

#include <spdlog/spdlog.h>

#include "observability/log_value.h"
#include "rpc/call_auth.h"
#include "rpc/daisy_service.h"
#include "rpc/event_messages.h"

namespace daisy::rpc {
namespace {

namespace asio = boost::asio;
namespace v1 = daisy::v1;

class EventStream final : public grpc::ServerBidiReactor<v1::EventBatch, v1::Ack> {
 public:
  EventStream(DaisyService& service, std::string app_id) : service_(service), app_id_(std::move(app_id)) {
    StartRead(&batch_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client closed its side, or the call ended
      Finish(grpc::Status::OK);
      return;
    }
    auto slot = service_.enter();
    if (!slot) {
      Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "Too many calls are in flight; retry this batch shortly with backoff."));
      return;
    }
    asio::co_spawn(
        service_.executor(),
        [](EventStream& self, DaisyService::InFlight) -> asio::awaitable<BatchOutcome> {
          co_return co_await ingest_batch(self.service_.context(), self.batch_, self.app_id_);
        }(*this, std::move(*slot)),
        [this](std::exception_ptr error, BatchOutcome outcome) { acknowledge(error, outcome); });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "The stream ended before the ack was sent."));
      return;
    }
    StartRead(&batch_);
  }

  void OnDone() override { delete this; }

 private:
  void acknowledge(const std::exception_ptr& error, const BatchOutcome& outcome) {
    if (error) {
      spdlog::error("msg=\"grpc stream failed\" method=StreamEvents");
      Finish(grpc::Status(grpc::StatusCode::INTERNAL, "The stream failed; the error has been logged."));
      return;
    }
    if (!outcome.status.ok()) {
      Finish(outcome.status);
      return;
    }
    ack_.Clear();
    ack_.set_sequence(++sequence_);
    fill_outcome(outcome.result, ack_);
    StartWrite(&ack_);
  }

  DaisyService& service_;
  std::string app_id_;
  v1::EventBatch batch_;
  v1::Ack ack_;
  std::uint64_t sequence_ = 0;
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
  return new EventStream(*this, caller.app_id);
}

}  // namespace daisy::rpc
