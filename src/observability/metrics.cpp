#include "observability/metrics.h"

#include <fmt/format.h>

namespace daisy {

const std::vector<double> latency_bounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                            0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};

namespace {

constexpr std::array<int, 26> tracked_statuses = {100, 200, 201, 202, 204, 206, 301, 302, 304, 400, 401, 403, 404,
                                                  405, 408, 409, 410, 411, 413, 415, 422, 429, 431, 500, 503, 0};
constexpr std::size_t status_slots = tracked_statuses.size();  // last slot: any other status

std::size_t status_slot(int status) {
  for (std::size_t i = 0; i + 1 < status_slots; ++i) {
    if (tracked_statuses[i] == status) return i;
  }
  return status_slots - 1;
}

constexpr std::size_t shard_count = 16;

std::string escape_label(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

void add_double(std::atomic<double>& a, double v) {
  double old = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(old, old + v, std::memory_order_relaxed)) {
  }
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double value) {
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  add_double(sum_, value);
}

void Histogram::Snapshot::add(const Snapshot& other) {
  if (buckets.size() < other.buckets.size()) buckets.resize(other.buckets.size(), 0);
  for (std::size_t i = 0; i < other.buckets.size(); ++i) buckets[i] += other.buckets[i];
  count += other.count;
  sum += other.sum;
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snap;
  snap.buckets.resize(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    snap.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
  }
  snap.count = count_.load(std::memory_order_relaxed);
  snap.sum = sum_.load(std::memory_order_relaxed);
  return snap;
}

void Histogram::render(std::string& out, std::string_view name, std::string_view labels) const {
  render(out, name, labels, bounds_, snapshot());
}

void Histogram::render(std::string& out, std::string_view name, std::string_view labels,
                       const std::vector<double>& bounds, const Snapshot& snap) {
  std::string_view sep = labels.empty() ? "" : ",";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += i < snap.buckets.size() ? snap.buckets[i] : 0;
    std::string le = i < bounds.size() ? fmt::format("{}", bounds[i]) : "+Inf";
    out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, le, cumulative);
  }
  std::string braces = labels.empty() ? "" : fmt::format("{{{}}}", labels);
  out += fmt::format("{}_sum{} {}\n", name, braces, snap.sum);
  out += fmt::format("{}_count{} {}\n", name, braces, snap.count);
}

struct Metrics::Shard {
  explicit Shard(std::size_t routes)
      : requests(new std::atomic<std::uint64_t>[routes * status_slots]()),
        other_status(new std::atomic<int>[routes]()) {
    for (std::size_t i = 0; i < routes; ++i) latency.emplace_back(latency_bounds);
  }
  std::unique_ptr<std::atomic<std::uint64_t>[]> requests;
  std::unique_ptr<std::atomic<int>[]> other_status;  // last untracked status seen, per route
  std::deque<Histogram> latency;
};

Metrics::Metrics()
    : commit_seconds(latency_bounds),
      commit_batch_size({1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096}),
      sync_seconds(latency_bounds),
      background_seconds(latency_bounds) {
  set_routes({});
}

void Metrics::set_routes(std::vector<std::string> route_labels) {
  route_labels_ = std::move(route_labels);
  shards_.clear();
  for (std::size_t i = 0; i < shard_count; ++i) {
    shards_.push_back(std::make_unique<Shard>(route_labels_.size() + 1));
  }
}

Metrics::~Metrics() = default;

Metrics::Shard& Metrics::shard() {
  static std::atomic<std::size_t> next{0};
  thread_local std::size_t index = next.fetch_add(1) % shard_count;
  return *shards_[index];
}

void Metrics::record_request(std::size_t route, int status, double seconds) {
  if (route > route_labels_.size()) route = route_labels_.size();
  Shard& s = shard();
  std::size_t slot = status_slot(status);
  s.requests[route * status_slots + slot].fetch_add(1, std::memory_order_relaxed);
  if (slot == status_slots - 1) s.other_status[route].store(status, std::memory_order_relaxed);
  s.latency[route].observe(seconds);
}

void Metrics::add_collector(std::function<void(std::string&)> collector) {
  std::lock_guard lock(collectors_mu_);
  collectors_.push_back(std::move(collector));
}

std::string Metrics::render() const {
  std::string out;
  out.reserve(64 * 1024);
  auto label_of = [&](std::size_t r) { return r < route_labels_.size() ? route_labels_[r] : std::string("unmatched"); };

  out += "# HELP daisy_http_requests_total HTTP requests answered, by route and status.\n";
  out += "# TYPE daisy_http_requests_total counter\n";
  for (std::size_t r = 0; r <= route_labels_.size(); ++r) {
    for (std::size_t slot = 0; slot < status_slots; ++slot) {
      std::uint64_t n = 0;
      int other = 0;
      for (const auto& s : shards_) {
        n += s->requests[r * status_slots + slot].load(std::memory_order_relaxed);
        if (slot == status_slots - 1 && other == 0) other = s->other_status[r].load();
      }
      if (n == 0) continue;
      int status = slot == status_slots - 1 ? other : tracked_statuses[slot];
      out += fmt::format("daisy_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", escape_label(label_of(r)),
                         status, n);
    }
  }

  out +=
      "# HELP daisy_http_request_duration_seconds Time from a complete request header to the reply being handed to the "
      "socket.\n";
  out += "# TYPE daisy_http_request_duration_seconds histogram\n";
  for (std::size_t r = 0; r <= route_labels_.size(); ++r) {
    Histogram::Snapshot merged;
    for (const auto& s : shards_) merged.add(s->latency[r].snapshot());
    if (merged.count == 0) continue;
    Histogram::render(out, "daisy_http_request_duration_seconds",
                      fmt::format("route=\"{}\"", escape_label(label_of(r))), latency_bounds, merged);
  }

  out += "# HELP daisy_http_requests_in_flight Requests being handled now.\n";
  out += "# TYPE daisy_http_requests_in_flight gauge\n";
  out += fmt::format("daisy_http_requests_in_flight {}\n", in_flight.load());
  out += "# HELP daisy_http_open_connections Client connections open now.\n";
  out += "# TYPE daisy_http_open_connections gauge\n";
  out += fmt::format("daisy_http_open_connections {}\n", open_connections.load());
  out += "# HELP daisy_http_rejected_overload_total Requests refused with 503 because too many were in flight.\n";
  out += "# TYPE daisy_http_rejected_overload_total counter\n";
  out += fmt::format("daisy_http_rejected_overload_total {}\n", rejected_overload.load());
  out +=
      "# HELP daisy_http_connections_timed_out_total Connections closed for exceeding a header, read, idle or write "
      "timeout.\n";
  out += "# TYPE daisy_http_connections_timed_out_total counter\n";
  out += fmt::format("daisy_http_connections_timed_out_total {}\n", connections_timed_out.load());

  out += "# HELP daisy_store_commit_seconds Duration of one group commit on the store's writer.\n";
  out += "# TYPE daisy_store_commit_seconds histogram\n";
  commit_seconds.render(out, "daisy_store_commit_seconds", "");
  out += "# HELP daisy_store_commit_batch_size Writes committed together in one transaction.\n";
  out += "# TYPE daisy_store_commit_batch_size histogram\n";
  commit_batch_size.render(out, "daisy_store_commit_batch_size", "");
  out += "# HELP daisy_store_sync_seconds Duration of one disk sync making the commits before it durable.\n";
  out += "# TYPE daisy_store_sync_seconds histogram\n";
  sync_seconds.render(out, "daisy_store_sync_seconds", "");
  out +=
      "# HELP daisy_store_background_seconds Duration of one step of the writer's work between commits (writing "
      "deferred index entries).\n";
  out += "# TYPE daisy_store_background_seconds histogram\n";
  background_seconds.render(out, "daisy_store_background_seconds", "");

  std::lock_guard lock(collectors_mu_);
  for (const auto& c : collectors_) c(out);
  return out;
}

}  // namespace daisy
