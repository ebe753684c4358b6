#include "rpc/call_log.h"

#include <grpcpp/server_context.h>
#include <grpcpp/support/interceptor.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>
#include <string>

#include "observability/log_value.h"
#include "rpc/rpc_status.h"
#include "util/time.h"

namespace daisy::rpc {
namespace {

class LoggingInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit LoggingInterceptor(grpc::experimental::ServerRpcInfo* info)
      : info_(info), method_(info->method() ? info->method() : "") {}

  // gRPC destroys a call's interceptors when the call is over.
  ~LoggingInterceptor() override {
    spdlog::info("msg=call transport=grpc method={} code={} duration_ms={:.3f} peer={}", log_value(method_),
                 code_name(code_.value_or(grpc::StatusCode::CANCELLED)), seconds_since(start_) * 1000,
                 log_value(peer_.empty() ? "-" : peer_));
  }
  LoggingInterceptor(const LoggingInterceptor&) = delete;
  LoggingInterceptor& operator=(const LoggingInterceptor&) = delete;

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    // Read once the call is under way (its first hook), while its context is.
    if (peer_.empty() && info_->server_context()) peer_ = info_->server_context()->peer();
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      code_ = methods->GetSendStatus().error_code();
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* info_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::string method_;
  std::string peer_;
  std::optional<grpc::StatusCode> code_;
};

class LoggingFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    return new LoggingInterceptor(info);
  }
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> call_log_interceptor_factory() {
  return std::make_unique<LoggingFactory>();
}

}  // namespace daisy::rpc
