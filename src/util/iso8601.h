#pragma once
// Parsing of ISO 8601 dates and timestamps as clients send them.
//
// Timestamps: YYYY-MM-DD, then 'T' or ' ', then hh:mm[:ss[.fraction]] with up
// to 9 fractional digits, then optionally 'Z' or ±hh:mm (±hhmm). No offset
// means UTC. Examples: 2021-01-01 09:15:27.243860, 2021-01-01T09:15:27Z,
// 2021-01-01T10:15:27+01:00.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace daisy {

struct CivilDate {
  int year;
  unsigned month;
  unsigned day;
};

// A calendar date YYYY-MM-DD (checked: 2023-02-29 is refused).
std::optional<CivilDate> parse_date(std::string_view s);

// Nanoseconds since the Unix epoch, UTC; nullopt outside what int64
// nanoseconds hold (1677-09-21 to 2262-04-11).
std::optional<std::int64_t> parse_timestamp_ns(std::string_view s);

}  // namespace daisy
