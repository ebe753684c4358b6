#pragma once
// The process-wide metrics registry, rendered in the Prometheus text format.
// Hot-path updates are relaxed atomic adds into per-thread shards, so I/O
// threads never contend on a cache line; a scrape sums the shards.

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace daisy {

// Seconds, from 100 µs to 10 s: the bounds of every duration histogram.
extern const std::vector<double> latency_bounds;

// A cumulative histogram with fixed upper bounds.
class Histogram {
 public:
  struct Snapshot {
    std::vector<std::uint64_t> buckets;  // per bound, then +Inf; not cumulative
    std::uint64_t count = 0;
    double sum = 0;
    void add(const Snapshot& other);
  };

  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

  // Appends name_bucket/_sum/_count lines; labels is "" or `key="value",...`.
  void render(std::string& out, std::string_view name, std::string_view labels) const;
  static void render(std::string& out, std::string_view name, std::string_view labels,
                     const std::vector<double>& bounds, const Snapshot& snap);

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1 (+Inf)
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

class Metrics {
 public:
  Metrics();
  ~Metrics();

  // One label per route, e.g. "GET /v1/apps/{id}"; an extra one, "unmatched",
  // counts requests that matched no route. Call once, before serving.
  void set_routes(std::vector<std::string> route_labels);

  std::size_t unmatched_route() const { return route_labels_.size(); }
  void record_request(std::size_t route, int status, double seconds);

  std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::int64_t> open_connections{0};
  std::atomic<std::uint64_t> rejected_overload{0};
  std::atomic<std::uint64_t> connections_timed_out{0};

  Histogram commit_seconds;
  Histogram commit_batch_size;
  Histogram sync_seconds;        // one disk sync making commits durable
  Histogram background_seconds;  // one step of the writer's work between commits

  // Later subsystems add their own series here; each appends complete lines.
  void add_collector(std::function<void(std::string&)> collector);

  std::string render() const;

 private:
  struct Shard;
  Shard& shard();
  std::vector<std::string> route_labels_;
  std::vector<std::unique_ptr<Shard>> shards_;
  mutable std::mutex collectors_mu_;
  std::vector<std::function<void(std::string&)>> collectors_;
};

}  // namespace daisy
