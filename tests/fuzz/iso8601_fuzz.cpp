// ISO 8601 dates and timestamps as clients send them (src/util/iso8601.cpp),
// and the fever feeds' local date-times (feeds::is_local_datetime). Checked
// against Howard Hinnant's date library (the calendar, days since the epoch)
// and by a round trip: an accepted timestamp, written back as
// YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ, must parse to the same instant.

#include <date/date.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "feeds/fever_xml.h"
#include "fuzz_common.h"
#include "util/iso8601.h"

namespace {

bool all_digits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// The calendar date the first 10 bytes name, if they are YYYY-MM-DD digits.
std::optional<date::year_month_day> civil(std::string_view s) {
  if (s.size() < 10 || s[4] != '-' || s[7] != '-' || !all_digits(s.substr(0, 4)) || !all_digits(s.substr(5, 2)) ||
      !all_digits(s.substr(8, 2))) {
    return std::nullopt;
  }
  int y = std::stoi(std::string(s.substr(0, 4)));
  unsigned m = static_cast<unsigned>(std::stoi(std::string(s.substr(5, 2))));
  unsigned d = static_cast<unsigned>(std::stoi(std::string(s.substr(8, 2))));
  return date::year_month_day{date::year{y}, date::month{m}, date::day{d}};
}

std::string format_utc(std::int64_t ns) {
  // Floor divisions: instants before 1970 have negative remainders.
  std::int64_t secs = ns / 1'000'000'000, sub = ns % 1'000'000'000;
  if (sub < 0) --secs, sub += 1'000'000'000;
  std::int64_t days = secs / 86'400, sod = secs % 86'400;
  if (sod < 0) --days, sod += 86'400;
  date::year_month_day ymd{date::sys_days{date::days{days}}};
  char out[64];
  std::snprintf(out, sizeof out, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%09lldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long long>(sod / 3600), static_cast<long long>(sod / 60 % 60),
                static_cast<long long>(sod % 60), static_cast<long long>(sub));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view s = daisy::fuzz::as_text(data, size);

  auto d = daisy::parse_date(s);
  if (s.size() == 10) {
    auto expected = civil(s);
    FUZZ_CHECK(d.has_value() == (expected && expected->ok()), "parse_date disagrees with the calendar");
  } else {
    FUZZ_CHECK(!d, "parse_date accepted more than YYYY-MM-DD");
  }
  if (d) {
    FUZZ_CHECK(d->month >= 1 && d->month <= 12 && d->day >= 1 && d->day <= 31, "a date out of range");
  }

  auto ts = daisy::parse_timestamp_ns(s);
  if (ts) {
    FUZZ_CHECK(daisy::parse_date(s.substr(0, 10)).has_value(), "a timestamp whose date does not parse");
    std::string again = format_utc(*ts);
    auto back = daisy::parse_timestamp_ns(again);
    FUZZ_CHECK(back.has_value(), "a timestamp written back does not parse");
    FUZZ_CHECK(*back == *ts, "a timestamp written back is another instant");
    // Without an offset the instant is the date's midnight UTC plus the time of day.
    if (s.size() == 19 && s[10] == 'T' && s[13] == ':' && s[16] == ':') {
      auto ymd = civil(s);
      std::int64_t day_s = std::int64_t{date::sys_days{*ymd}.time_since_epoch().count()} * 86'400;
      std::int64_t ts_s = *ts / 1'000'000'000 - (*ts % 1'000'000'000 < 0);
      FUZZ_CHECK(ts_s - day_s >= 0 && ts_s - day_s <= 86'400, "days since the epoch disagree with the date library");
    }
  }

  if (daisy::feeds::is_local_datetime(s)) {
    auto ymd = civil(s);
    FUZZ_CHECK(ymd && ymd->ok(), "a local date-time on a day that does not exist");
    int year = static_cast<int>(ymd->year());
    if (year > 1677 && year < 2262) {
      FUZZ_CHECK(daisy::parse_timestamp_ns(s).has_value(), "a local date-time that is no timestamp");
    }
  }
  return 0;
}
