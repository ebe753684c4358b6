#include "util/time_zone.h"

#include <date/tz.h>

#include <string>

namespace daisy {
namespace {

const date::time_zone* find_zone(std::string_view name) {
  try {
    return date::locate_zone(std::string(name));
  } catch (const std::exception&) {
    return nullptr;
  }
}

}  // namespace

bool is_time_zone(std::string_view name) { return !name.empty() && find_zone(name) != nullptr; }

std::optional<std::int64_t> local_to_unix_seconds(std::string_view zone, int year, unsigned month, unsigned day,
                                                  unsigned hour, unsigned minute, unsigned second) {
  auto local_days = date::local_days(date::year(year) / date::month(month) / date::day(day));
  auto local = local_days + std::chrono::hours(hour) + std::chrono::minutes(minute) + std::chrono::seconds(second);
  if (zone == "UTC") return local.time_since_epoch().count();
  const date::time_zone* tz = find_zone(zone);
  if (!tz) return std::nullopt;
  // first: the offset in force before a skipped or repeated hour (see the header).
  return (local - tz->get_info(local).first.offset).time_since_epoch().count();
}

}  // namespace daisy
