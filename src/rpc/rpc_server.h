#pragma once
// The gRPC server (--grpc-listen): daisy.v1.Daisy, the standard
// grpc.health.v1.Health (SERVING while GET /readyz would answer 200) and
// server reflection, on a port of its own. The methods' operations run on a
// small pool of threads of its own; gRPC's threads read and write messages.

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "rpc/call_metrics.h"
#include "rpc/rpc_context.h"

namespace grpc {
class Server;
}

namespace daisy::rpc {

class DaisyService;

struct RpcSettings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 9090;  // 0: any free port
  unsigned threads = 2;       // the operations' pool
  std::size_t max_message_bytes = 16 * 1024 * 1024;
  unsigned max_concurrent_streams = 100;  // per connection
  // Pings: a client may ping at most this often without data (more is a
  // GOAWAY), and the server pings idle connections at this interval.
  std::chrono::milliseconds min_client_ping_interval{10'000};
  std::chrono::milliseconds keepalive_time{60'000};
  std::chrono::milliseconds keepalive_timeout{20'000};
  std::chrono::milliseconds health_interval{1'000};
};

class RpcServer {
 public:
  RpcServer(RpcSettings settings, RpcContext ctx);
  ~RpcServer();
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  // Binds and serves; the bound port, or nullopt with `error` set.
  std::optional<std::uint16_t> start(std::string& error);
  // Takes no new call from now on (health answers NOT_SERVING, new calls
  // UNAVAILABLE) and ends the calls in flight after at most `grace`
  // (streams are cancelled), on a thread of its own: called when the HTTP
  // server begins to stop, so that both drain together. Once only.
  void begin_stop(std::chrono::milliseconds grace);
  // begin_stop(grace) unless begun, waits for it, then joins the pool. The
  // destructor stops with stop_grace.
  void stop(std::chrono::milliseconds grace);
  // How long calls in flight may go on once a stop begins: streams are
  // long-lived, so they are cut after it rather than waited for.
  static constexpr std::chrono::seconds stop_grace{2};
  // daisy_grpc_calls_total (rpc/call_metrics.h).
  void render_metrics(std::string& out) const { metrics_.render(out); }

 private:
  void watch_health();

  RpcSettings settings_;
  RpcContext ctx_;
  CallMetrics metrics_;
  boost::asio::thread_pool pool_;
  boost::asio::steady_timer health_timer_;
  std::unique_ptr<DaisyService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::mutex stop_mu_;
  std::thread stopper_;  // runs grpc::Server::Shutdown, which blocks until the calls end
};

}  // namespace daisy::rpc
