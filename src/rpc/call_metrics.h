#pragma once
// What /metrics shows of the gRPC interface: calls ended, by method and
// status code (daisy_grpc_calls_total), counted by a server interceptor when
// a call sends its status, so every method (health and reflection too) and
// every refusal is seen in one place. A call the client cancels is counted
// with the status the server ends it with (a Watch: CANCELLED; a unary call
// already under way: what it finishes with, though the client never sees it).

#include <grpcpp/support/server_interceptor.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace daisy::rpc {

class CallMetrics {
 public:
  void count(std::string_view method, grpc::StatusCode code);
  // Prometheus lines; a method and code pair appears once it has been seen.
  void render(std::string& out) const;
  // The interceptor factory that counts into this (which must outlive the server).
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> interceptor_factory();

  static constexpr std::array<std::string_view, 8> methods = {
      "/daisy.v1.Daisy/Submit", "/daisy.v1.Daisy/SendEvents", "/daisy.v1.Daisy/StreamEvents", "/daisy.v1.Daisy/Watch",
      "/daisy.v1.Daisy/GetJob", "/daisy.v1.Daisy/ListJobs",   "/grpc.health.v1.Health/Check", "other"};
  static constexpr std::size_t code_count = 17;  // OK .. UNAUTHENTICATED

 private:
  std::array<std::array<std::atomic<std::uint64_t>, code_count>, methods.size()> counts_{};
};

}  // namespace daisy::rpc
