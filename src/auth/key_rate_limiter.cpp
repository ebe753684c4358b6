#include "auth/key_rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace daisy {

std::optional<std::int64_t> KeyRateLimiter::take(const std::string& app_id, const AppAccess& access, std::int64_t count,
                                                 std::int64_t now_ns) {
  const auto rate = static_cast<double>(std::max<std::int64_t>(access.events_per_second, 1));
  const auto burst = static_cast<double>(std::max<std::int64_t>(access.burst, 1));
  const double needed = std::min(static_cast<double>(count), burst);
  std::lock_guard lock(mu_);
  auto [it, inserted] = buckets_.try_emplace(app_id, Bucket{burst, now_ns});
  Bucket& b = it->second;
  if (!inserted) {
    double elapsed = static_cast<double>(std::max<std::int64_t>(now_ns - b.updated_ns, 0)) / 1e9;
    b.tokens = std::min(burst, b.tokens + elapsed * rate);
    b.updated_ns = now_ns;
  }
  if (b.tokens >= needed) {
    b.tokens -= needed;
    return std::nullopt;
  }
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil((needed - b.tokens) / rate)));
}

}  // namespace daisy
