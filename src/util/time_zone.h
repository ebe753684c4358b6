#pragma once
// Local times of IANA time zones (the system's tz database), for providers
// whose feeds give wall-clock times.

#include <cstdint>
#include <optional>
#include <string_view>

namespace daisy {

bool is_time_zone(std::string_view name);

// Seconds since the Unix epoch of a local date and time in the zone. A time
// skipped by a DST change is read with the offset in force before it; a
// repeated one as its first occurrence. nullopt for an unknown zone.
std::optional<std::int64_t> local_to_unix_seconds(std::string_view zone, int year, unsigned month, unsigned day,
                                                  unsigned hour, unsigned minute, unsigned second);

}  // namespace daisy
