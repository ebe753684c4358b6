#include "rpc/call_metrics.h"

#include <fmt/format.h>
#include <grpcpp/support/interceptor.h>

#include <algorithm>

#include "rpc/rpc_status.h"

namespace daisy::rpc {
namespace {

class CountingInterceptor final : public grpc::experimental::Interceptor {
 public:
  CountingInterceptor(CallMetrics& metrics, std::string_view method) : metrics_(metrics), method_(method) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_.count(method_, methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  CallMetrics& metrics_;
  std::string_view method_;  // the method's name as gRPC holds it for the call
};

class CountingFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CountingFactory(CallMetrics& metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    return new CountingInterceptor(metrics_, info->method() ? info->method() : "");
  }

 private:
  CallMetrics& metrics_;
};

}  // namespace

void CallMetrics::count(std::string_view method, grpc::StatusCode code) {
  auto known = std::find(methods.begin(), methods.end() - 1, method);
  auto c = static_cast<std::size_t>(code);
  if (c >= code_count) c = static_cast<std::size_t>(grpc::StatusCode::UNKNOWN);
  counts_[static_cast<std::size_t>(known - methods.begin())][c].fetch_add(1, std::memory_order_relaxed);
}

void CallMetrics::render(std::string& out) const {
  out += "# HELP daisy_grpc_calls_total gRPC calls that sent their status, by method and code.\n";
  out += "# TYPE daisy_grpc_calls_total counter\n";
  for (std::size_t m = 0; m < methods.size(); ++m) {
    std::string_view method = methods[m];
    if (method.front() == '/') method.remove_prefix(1);
    for (std::size_t c = 0; c < code_count; ++c) {
      std::uint64_t n = counts_[m][c].load(std::memory_order_relaxed);
      if (n == 0 && c != 0) continue;  // OK always, so a rate has a series from the start
      out += fmt::format("daisy_grpc_calls_total{{method=\"{}\",code=\"{}\"}} {}\n", method,
                         code_name(static_cast<grpc::StatusCode>(c)), n);
    }
  }
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> CallMetrics::interceptor_factory() {
  return std::make_unique<CountingFactory>(*this);
}

}  // namespace daisy::rpc
