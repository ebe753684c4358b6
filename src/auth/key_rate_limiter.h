#pragma once
// The token buckets of publishable keys: each app's key may send
// AppAccess::events_per_second on average and `burst` at once, so one page (or
// a script that copied the key) cannot flood the collector. Per node: with
// several nodes each holds its own buckets.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "domain/app.h"

namespace daisy {

class KeyRateLimiter {
 public:
  // Takes `count` events from the app's bucket. nullopt when taken; else the
  // whole seconds to wait before the bucket holds them (for Retry-After), and
  // nothing is taken. A request larger than the burst is taken from a full
  // bucket (it would never fit otherwise).
  std::optional<std::int64_t> take(const std::string& app_id, const AppAccess& access, std::int64_t count,
                                   std::int64_t now_ns);

 private:
  struct Bucket {
    double tokens = 0;
    std::int64_t updated_ns = 0;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace daisy
