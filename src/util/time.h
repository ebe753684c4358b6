#pragma once
// UTC timestamps in the one output format Daisy uses: ISO 8601 with
// millisecond precision and a trailing Z, e.g. 2026-11-22T07:30:00.123Z.

#include <chrono>
#include <string>

namespace daisy {

using Clock = std::chrono::system_clock;

std::string format_utc(Clock::time_point t);
inline std::string now_utc() { return format_utc(Clock::now()); }

// The IMF-fixdate form required by the HTTP Date header, cached per second.
std::string_view http_date_now();

}  // namespace daisy
