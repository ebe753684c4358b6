#pragma once
// daisy.v1.Daisy (proto/daisy/v1/daisy.proto) on gRPC's callback API. Each
// method authenticates the call's bearer token as HTTP does, turns its
// message into a call to the same operation as the HTTP route (forms::submit,
// events::EventIngest, jobs/job_reads.h, the live bus) and the outcome into
// its reply or status (rpc_status.h). Operations are coroutines run on
// `executor` (the RPC server's threads); gRPC's own threads only read and
// write messages.

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <optional>

#include "daisy/v1/daisy.grpc.pb.h"
#include "rpc/rpc_context.h"

namespace daisy::rpc {

class DaisyService final : public daisy::v1::Daisy::CallbackService {
 public:
  DaisyService(RpcContext& ctx, boost::asio::any_io_executor executor);

  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* call, const daisy::v1::SubmitRequest* request,
                                   daisy::v1::SubmitReply* reply) override;
  grpc::ServerUnaryReactor* SendEvents(grpc::CallbackServerContext* call, const daisy::v1::EventBatch* request,
                                       daisy::v1::BatchReply* reply) override;
  grpc::ServerBidiReactor<daisy::v1::EventBatch, daisy::v1::Ack>* StreamEvents(
      grpc::CallbackServerContext* call) override;
  grpc::ServerWriteReactor<daisy::v1::Change>* Watch(grpc::CallbackServerContext* call,
                                                     const daisy::v1::WatchRequest* request) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* call, const daisy::v1::GetJobRequest* request,
                                   daisy::v1::Job* reply) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* call, const daisy::v1::ListJobsRequest* request,
                                     daisy::v1::JobPage* reply) override;

  // Calls and stream messages being worked on (for the in-flight limit).
  class InFlight;
  // Null when over the limit (the caller answers RESOURCE_EXHAUSTED).
  std::optional<InFlight> enter();

  RpcContext& context() { return ctx_; }
  boost::asio::any_io_executor executor() const { return executor_; }

 private:
  RpcContext& ctx_;
  boost::asio::any_io_executor executor_;
  std::atomic<std::size_t> in_flight_{0};
};

class DaisyService::InFlight {
 public:
  explicit InFlight(std::atomic<std::size_t>& count) : count_(&count) {}
  InFlight(InFlight&& other) noexcept : count_(other.count_) { other.count_ = nullptr; }
  InFlight& operator=(InFlight&&) = delete;
  ~InFlight() {
    if (count_) count_->fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  std::atomic<std::size_t>* count_;
};

}  // namespace daisy::rpc
