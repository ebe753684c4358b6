#pragma once
// UTC timestamps in the one output format Daisy uses: ISO 8601 with
// millisecond precision and a trailing Z, e.g. 2026-11-22T07:30:00.123Z.

#include <chrono>
#include <cstdint>
#include <string>

namespace daisy {

using Clock = std::chrono::system_clock;

std::string format_utc(Clock::time_point t);
inline std::string now_utc() { return format_utc(Clock::now()); }

// Nanoseconds since the epoch, as ISO 8601 UTC with as many fractional digits
// as needed in groups of three (none, .123, .123456 or .123456789) and a Z.
// Used for event times, which keep the precision they were sent with.
void append_utc_ns(std::string& out, std::int64_t ns);
inline std::string format_utc_ns(std::int64_t ns) {
  std::string out;
  append_utc_ns(out, ns);
  return out;
}
std::int64_t now_ns();
// Milliseconds since the epoch (job due times).
std::int64_t now_ms();

// Seconds elapsed on the steady clock since `start` (durations for metrics).
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The IMF-fixdate form required by the HTTP Date header, cached per second.
std::string_view http_date_now();

}  // namespace daisy
