#pragma once
// Carries live stream messages between the nodes that share a PostgreSQL
// database, so that a stream open on one node sees what was written through
// the others (GET /v1/stream). Each node LISTENs on one channel; the messages
// it publishes go out as NOTIFY payloads (live/live_wire.h lines, cut into
// pieces under PostgreSQL's 8000-byte payload limit and sent in one
// transaction, so they arrive in order and whole). A node advertises the kinds
// its streams want, and the others make and send only those.
//
// Delivery is best effort, as for a stream on one node: a message published
// while the relay's connection is down is not carried (the node's own streams
// still get it). Ids are each node's own: a stream resumes (Last-Event-ID) on
// the node it was reading from.
//
// Threads: one of its own, which owns the connection; publishers only queue.

#include <poll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "live/live_bus.h"

namespace daisy::pg {
class Connection;
}

namespace daisy {

class PgLiveRelay {
 public:
  static constexpr const char* channel = "daisy_live";
  static constexpr std::size_t max_payload_bytes = 7900;  // PostgreSQL refuses 8000 and more
  static constexpr std::size_t max_queued_bytes = 64u << 20;

  PgLiveRelay(std::string conninfo, live::LiveBus& bus);
  ~PgLiveRelay();  // same as stop()
  PgLiveRelay(const PgLiveRelay&) = delete;
  PgLiveRelay& operator=(const PgLiveRelay&) = delete;

  // Hooks into the bus and starts the thread.
  void start();
  void stop();
  void render_metrics(std::string& out) const;

 private:
  void queue(const std::shared_ptr<const live::LiveMessage>& m);
  void run();
  bool connect();
  // Sends the interest and the queued messages; false when the connection failed.
  bool send_pending();
  bool send_text(const std::string& text);
  void receive();
  void take_piece(int sender, std::string_view payload);
  void deliver(std::string_view text);

  const std::string conninfo_;
  live::LiveBus& bus_;
  std::unique_ptr<pg::Connection> conn_;  // the thread's
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  std::deque<std::shared_ptr<const live::LiveMessage>> queued_;
  std::size_t queued_bytes_ = 0;

  // The thread's.
  std::map<int, std::string> partial_;  // a sender's batch so far, by backend pid
  live::KindMask advertised_ = 0;
  std::chrono::steady_clock::time_point advertised_at_{};
  std::chrono::steady_clock::time_point next_connect_{};

  std::atomic<std::uint64_t> sent_{0}, received_{0}, dropped_{0}, failures_{0};
};

}  // namespace daisy
