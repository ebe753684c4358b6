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
  const date::time_zone* tz = zone == "UTC" ? nullptr : find_zone(zone);
  auto local_days = date::local_days(date::year(year) / date::month(month) / date::day(day));
  auto local = local_days + std::chrono::hours(hour) + std::chrono::minutes(minute) + std::chrono::seconds(second);
  if (zone == "UTC") return local.time_since_epoch().count();
  if (!tz) return std::nullopt;
  auto info = tz->get_info(local);
  std::chrono::seconds offset = info.first.offset;
  if (info.result == date::local_info::nonexistent) offset = info.first.offset;  // the clocks jumped forward
  return (local - offset).time_since_epoch().count();
}

}  // namespace daisy
