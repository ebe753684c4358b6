#include "runtime/retention.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "observability/log_value.h"
#include "util/thread_name.h"
#include "util/time.h"

namespace daisy {
namespace asio = boost::asio;
using std::chrono::steady_clock;

namespace {

constexpr std::array<const char*, 3> kind_names{"events", "responses", "jobs"};
constexpr const char* lease_name = "retention";
// A lease outlives the longest gap between two renewals (a slice and its
// rest) many times over; a node that dies holding it delays passes this long.
constexpr std::chrono::minutes lease_ttl{2};
constexpr std::chrono::seconds lease_renewal{20};

}  // namespace

Retention::Retention(RetentionStore& store, ClusterStore& leases, RetentionSettings settings)
    : store_(store), leases_(leases), settings_(std::move(settings)) {}

Retention::~Retention() { stop(); }

void Retention::start() {
  if (!settings_.events && !settings_.responses && !settings_.jobs) return;
  asio::co_spawn(io_, run(), asio::detached);
  thread_ = std::thread([this] {
    name_this_thread("daisy-retention");
    io_.run();
  });
}

void Retention::stop() {
  if (stopping_.exchange(true)) return;
  asio::post(io_, [this] { timer_.cancel(); });
  if (thread_.joinable()) thread_.join();
}

// stop() sets stopping_ before it posts the timer's cancel: a wait that
// begins after that cancel ran (the pass was in a slice then) sees the flag.
asio::awaitable<bool> Retention::wait(steady_clock::duration d) {
  if (stopping_.load()) co_return false;
  timer_.expires_after(d);
  boost::system::error_code ec;
  co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return !stopping_.load();
}

asio::awaitable<bool> Retention::hold_lease() {
  auto now = steady_clock::now();
  if (now - lease_renewed_ < lease_renewal) co_return true;
  auto held = co_await leases_.try_lease(lease_name, settings_.node_id, now_ms(),
                                         std::chrono::duration_cast<std::chrono::milliseconds>(lease_ttl).count());
  if (!held.is_ok() || !held.value()) co_return false;
  lease_renewed_ = now;
  co_return true;
}

asio::awaitable<void> Retention::run() {
  if (!co_await wait(settings_.first_pass_after)) co_return;
  for (;;) {
    const std::array<std::optional<std::chrono::hours>, kinds> keep{settings_.events, settings_.responses,
                                                                    settings_.jobs};
    lease_renewed_ = {};
    bool whole = true;
    for (std::size_t k = 0; k < kinds && whole && !stopping_.load(); ++k) {
      if (keep[k]) whole = co_await pass(static_cast<Expiring>(k), *keep[k]);
    }
    if (whole) last_pass_end_ms_.store(now_ms());
    if (!co_await wait(settings_.interval)) co_return;
  }
}

asio::awaitable<bool> Retention::pass(Expiring what, std::chrono::hours keep) {
  const auto k = static_cast<std::size_t>(what);
  const std::int64_t before_ms = now_ms() - std::chrono::duration_cast<std::chrono::milliseconds>(keep).count();
  const auto started = steady_clock::now();
  std::int64_t deleted = 0;
  ExpirySlice slice;
  do {
    if (!co_await hold_lease()) co_return false;  // another node runs the passes
    auto slice_started = steady_clock::now();
    auto result = co_await store_.delete_expired(what, before_ms, slice.after, settings_.slice_rows);
    if (!result.is_ok()) {
      errors_.fetch_add(1);
      spdlog::warn("msg=\"retention slice failed; the next pass tries again\" kind={} error={}", kind_names[k],
                   log_value(result.status().message()));
      co_return false;
    }
    slice = result.value();
    deleted += slice.deleted;
    deleted_[k].fetch_add(slice.deleted);
    if (slice.more && !co_await wait(rest_after(steady_clock::now() - slice_started))) co_return true;
  } while (slice.more);
  if (deleted > 0) {
    auto seconds = std::chrono::duration<double>(steady_clock::now() - started).count();
    spdlog::info("msg=\"retention pass\" kind={} deleted={} seconds={:.1f} older_than=\"{}\"", kind_names[k], deleted,
                 seconds, format_utc(Clock::time_point(std::chrono::milliseconds(before_ms))));
  }
  co_return true;
}

steady_clock::duration Retention::rest_after(steady_clock::duration took) {
  auto now = steady_clock::now();
  std::uint64_t writes = settings_.request_writes ? settings_.request_writes() : 0;
  double seconds = std::chrono::duration<double>(now - last_rest_).count();
  bool busy = last_rest_ != steady_clock::time_point{} && seconds > 0 &&
              // Signed: the counters behind request_writes() are read apart.
              static_cast<double>(static_cast<std::int64_t>(writes - writes_at_last_rest_)) >
                  settings_.busy_writes_per_s * seconds;
  last_rest_ = now;
  writes_at_last_rest_ = writes;
  double factor = busy ? settings_.rest_factor_busy : settings_.rest_factor_idle;
  return std::chrono::duration_cast<steady_clock::duration>(took * factor);
}

void Retention::render_metrics(std::string& out) const {
  out += "# HELP daisy_retention_deleted_total Records deleted because they outlived their retention.\n";
  out += "# TYPE daisy_retention_deleted_total counter\n";
  for (std::size_t k = 0; k < kinds; ++k) {
    out += fmt::format("daisy_retention_deleted_total{{kind=\"{}\"}} {}\n", kind_names[k], deleted_[k].load());
  }
  out += "# HELP daisy_retention_errors_total Retention slices that failed (the next pass tries again).\n";
  out += "# TYPE daisy_retention_errors_total counter\n";
  out += fmt::format("daisy_retention_errors_total {}\n", errors_.load());
  out +=
      "# HELP daisy_retention_last_pass_timestamp_seconds When this node last finished a retention pass (0: never).\n";
  out += "# TYPE daisy_retention_last_pass_timestamp_seconds gauge\n";
  out += fmt::format("daisy_retention_last_pass_timestamp_seconds {}\n", last_pass_end_ms_.load() / 1000);
}

}  // namespace daisy
