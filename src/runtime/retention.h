#pragma once
// Deletes what has outlived the retention an operator set: events, responses
// and ended jobs older than their days (store/retention_store.h says what
// goes with each). A pass runs soon after start-up and then every
// `interval`. It deletes in slices of `slice_rows` records, and after each
// slice rests a multiple of the time the slice took: `rest_factor_idle`
// while requests write little, `rest_factor_busy` once they write more than
// `busy_writes_per_s` (the writes of requests share the store's writer with
// it, and then keep most of its time). On PostgreSQL one node at a time runs
// passes (the "retention" lease).
//
// Threads: one of its own, running the passes as a coroutine.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "store/cluster_store.h"
#include "store/retention_store.h"

namespace daisy {

struct RetentionSettings {
  // How long each kind is kept; nullopt: for ever.
  std::optional<std::chrono::hours> events, responses, jobs;
  std::chrono::milliseconds first_pass_after{std::chrono::seconds(1)};
  std::chrono::milliseconds interval{std::chrono::minutes(10)};
  std::size_t slice_rows = 500;
  double rest_factor_idle = 1.0;
  double rest_factor_busy = 8.0;
  double busy_writes_per_s = 500;
  // The writes of requests so far (JobStore::request_writes); none given: idle.
  std::function<std::uint64_t()> request_writes;
  std::string node_id;  // the lease's holder
};

class Retention {
 public:
  Retention(RetentionStore& store, ClusterStore& leases, RetentionSettings settings);
  ~Retention();  // same as stop()
  Retention(const Retention&) = delete;
  Retention& operator=(const Retention&) = delete;

  // Does nothing when every kind is kept for ever.
  void start();
  // Waits for the slice under way, if any, then stops.
  void stop();

  // daisy_retention_deleted_total{kind}, daisy_retention_errors_total and
  // daisy_retention_last_pass_timestamp_seconds.
  void render_metrics(std::string& out) const;

 private:
  static constexpr std::size_t kinds = 3;
  boost::asio::awaitable<void> run();
  // One pass over one kind; false when the store failed or this node lost
  // the lease (the next pass tries again).
  boost::asio::awaitable<bool> pass(Expiring what, std::chrono::hours keep);
  boost::asio::awaitable<bool> hold_lease();
  boost::asio::awaitable<bool> wait(std::chrono::steady_clock::duration d);
  // How long to rest after a slice that took `took`.
  std::chrono::steady_clock::duration rest_after(std::chrono::steady_clock::duration took);

  RetentionStore& store_;
  ClusterStore& leases_;
  RetentionSettings settings_;
  boost::asio::io_context io_;
  boost::asio::steady_timer timer_{io_};
  std::atomic<bool> stopping_{false};
  std::chrono::steady_clock::time_point lease_renewed_{};
  std::chrono::steady_clock::time_point last_rest_{};  // when the last rest_after was asked
  std::uint64_t writes_at_last_rest_ = 0;
  std::array<std::atomic<std::int64_t>, kinds> deleted_{};
  std::atomic<std::int64_t> errors_{0};
  std::atomic<std::int64_t> last_pass_end_ms_{0};
  std::thread thread_;
};

}  // namespace daisy
