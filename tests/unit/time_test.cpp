#include "util/time.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string_view>

#include "test_support.h"

namespace {

using namespace daisy;
using namespace std::chrono;

Clock::time_point at(long long seconds, long long extra_ns = 0) {
  return Clock::time_point(duration_cast<Clock::duration>(std::chrono::seconds(seconds) + nanoseconds(extra_ns)));
}

TEST(Time, FormatsKnownInstants) {
  EXPECT_EQ(format_utc(Clock::time_point{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_utc(at(946684800)), "2000-01-01T00:00:00.000Z");
  EXPECT_EQ(format_utc(at(1795332600, 123'000'000)), "2026-11-22T07:30:00.123Z");
  EXPECT_EQ(format_utc(at(1709251199, 999'000'000)), "2024-02-29T23:59:59.999Z");  // leap day
  EXPECT_EQ(format_utc(at(2147483648)), "2038-01-19T03:14:08.000Z");               // past 32-bit time_t
  EXPECT_EQ(format_utc(at(4107585600, 7'000'000)), "2100-03-01T12:00:00.007Z");    // 2100 is no leap year
}

TEST(Time, FormatsCalendarDates) {
  sys_days day = year{2026} / November / 22;
  EXPECT_EQ(format_utc(day + hours(7) + minutes(30) + milliseconds(5)), "2026-11-22T07:30:00.005Z");
  sys_days end_of_year = year{1999} / December / 31;
  EXPECT_EQ(format_utc(end_of_year + hours(23) + minutes(59) + seconds(59)), "1999-12-31T23:59:59.000Z");
}

TEST(Time, SubMillisecondsAreTruncatedNotRounded) {
  EXPECT_EQ(format_utc(at(0, 999'999)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_utc(at(0, 1'999'999)), "1970-01-01T00:00:00.001Z");
  // Rounding would carry into the next second, minute, hour, day and year.
  EXPECT_EQ(format_utc(at(946684799, 999'999'999)), "1999-12-31T23:59:59.999Z");
  EXPECT_EQ(format_utc(at(1, 500'000)), "1970-01-01T00:00:01.000Z");
}

TEST(Time, NowUtcHasTheOneFormat) {
  std::string before = format_utc(Clock::now());
  std::string now = now_utc();
  std::string after = format_utc(Clock::now());
  EXPECT_TRUE(daisy::test::matches_shape(now, "####-##-##T##:##:##.###Z")) << now;
  // Same width, so string order is time order.
  EXPECT_LE(before, now);
  EXPECT_LE(now, after);
}

TEST(Time, HttpDateIsImfFixdate) {
  std::string date(http_date_now());
  ASSERT_TRUE(daisy::test::matches_shape(date, "@@@, ## @@@ #### ##:##:## GMT")) << date;
  constexpr std::array<std::string_view, 7> days = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  constexpr std::array<std::string_view, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  EXPECT_NE(std::find(days.begin(), days.end(), date.substr(0, 3)), days.end()) << date;
  EXPECT_NE(std::find(months.begin(), months.end(), date.substr(8, 3)), months.end()) << date;
  // The year matches the ISO form of now (unless the year turns between the two calls).
  std::string iso = now_utc();
  EXPECT_NE(date.find(" " + iso.substr(0, 4) + " "), std::string::npos) << date << " vs " << iso;
}

}  // namespace

namespace {

TEST(TimeNs, KeepsThePrecisionThatWasSent) {
  constexpr std::int64_t base = 1'609'492'527LL * 1'000'000'000;  // 2021-01-01T09:15:27Z
  EXPECT_EQ(daisy::format_utc_ns(base), "2021-01-01T09:15:27Z");
  EXPECT_EQ(daisy::format_utc_ns(base + 243'000'000), "2021-01-01T09:15:27.243Z");
  EXPECT_EQ(daisy::format_utc_ns(base + 243'860'000), "2021-01-01T09:15:27.243860Z");
  EXPECT_EQ(daisy::format_utc_ns(base + 1), "2021-01-01T09:15:27.000000001Z");
  EXPECT_EQ(daisy::format_utc_ns(-1), "1969-12-31T23:59:59.999999999Z");
}

}  // namespace
