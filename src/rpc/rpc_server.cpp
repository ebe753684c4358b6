#include "rpc/rpc_server.h"

#include <absl/synchronization/mutex.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <boost/asio/post.hpp>

#include "rpc/call_log.h"
#include "rpc/daisy_service.h"
#include "util/thread_name.h"

namespace daisy::rpc {

RpcServer::RpcServer(RpcSettings settings, RpcContext ctx)
    : settings_(std::move(settings)), ctx_(ctx), pool_(settings_.threads), health_timer_(pool_.get_executor()) {}

RpcServer::~RpcServer() { stop(stop_grace); }

std::optional<std::uint16_t> RpcServer::start(std::string& error) {
  // Debian builds Abseil without NDEBUG, so its Mutex keeps a lock-order graph
  // (behind a global lock, with a stack trace per lock) for deadlock reports:
  // about 3% of the server's CPU samples under Submit load (perf).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  service_ = std::make_unique<DaisyService>(ctx_, pool_.get_executor());
  grpc::ServerBuilder builder;
  int port = 0;
  std::string address = settings_.host.find(':') != std::string::npos ? "[" + settings_.host + "]" : settings_.host;
  builder.AddListeningPort(address + ":" + std::to_string(settings_.port), grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(settings_.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(settings_.max_message_bytes));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, static_cast<int>(settings_.max_concurrent_streams));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(settings_.keepalive_time.count()));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(settings_.keepalive_timeout.count()));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             static_cast<int>(settings_.min_client_ping_interval.count()));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(metrics_.interceptor_factory());
  interceptors.push_back(call_log_interceptor_factory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0) {
    error = "cannot listen for gRPC on " + settings_.host + ":" + std::to_string(settings_.port) +
            " (in use, or not an address of this machine)";
    server_.reset();
    return std::nullopt;
  }
  watch_health();
  return static_cast<std::uint16_t>(port);
}

// grpc.health.v1.Health follows /readyz: the store answers and writes go through.
void RpcServer::watch_health() {
  bool ready = ctx_.store.answers() && ctx_.store.writes_go_through();
  if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(ready);
  health_timer_.expires_after(settings_.health_interval);
  health_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) watch_health();
  });
}

void RpcServer::begin_stop(std::chrono::milliseconds grace) {
  std::lock_guard lock(stop_mu_);
  if (!server_ || stopper_.joinable()) return;
  boost::asio::post(pool_, [this] { health_timer_.cancel(); });
  if (auto* health = server_->GetHealthCheckService()) health->Shutdown();
  stopper_ = std::thread([server = server_.get(), deadline = std::chrono::system_clock::now() + grace] {
    name_this_thread("daisy-grpc-stop");
    server->Shutdown(deadline);
  });
}

void RpcServer::stop(std::chrono::milliseconds grace) {
  begin_stop(grace);
  if (stopper_.joinable()) stopper_.join();
  if (server_) {
    server_->Wait();
    server_.reset();
  }
  pool_.join();
}

}  // namespace daisy::rpc
