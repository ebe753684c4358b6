#include "util/iso8601.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace {

using namespace daisy;

constexpr std::int64_t ns_per_s = 1'000'000'000;

// 2021-01-01T09:15:27Z in seconds since the epoch.
constexpr std::int64_t new_year_2021_0915_27 = 1'609'492'527;

void expect_date(std::string_view s, int year, unsigned month, unsigned day) {
  std::optional<CivilDate> d = parse_date(s);
  ASSERT_TRUE(d.has_value()) << s;
  EXPECT_EQ(d->year, year) << s;
  EXPECT_EQ(d->month, month) << s;
  EXPECT_EQ(d->day, day) << s;
}

// ---------------------------------------------------------------- parse_date

TEST(Iso8601Date, ParsesPlainDates) {
  expect_date("2021-01-01", 2021, 1, 1);
  expect_date("1999-12-31", 1999, 12, 31);
  expect_date("2024-06-30", 2024, 6, 30);
  expect_date("0001-01-01", 1, 1, 1);
  expect_date("9999-12-31", 9999, 12, 31);
}

TEST(Iso8601Date, ChecksTheLengthOfEachMonth) {
  const unsigned last_day[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  for (unsigned m = 1; m <= 12; ++m) {
    char ok[11], bad[11];
    std::snprintf(ok, sizeof ok, "2023-%02u-%02u", m, last_day[m - 1]);
    std::snprintf(bad, sizeof bad, "2023-%02u-%02u", m, last_day[m - 1] + 1);
    EXPECT_TRUE(parse_date(ok).has_value()) << ok;
    EXPECT_FALSE(parse_date(bad).has_value()) << bad;
  }
}

TEST(Iso8601Date, February29OnlyInLeapYears) {
  expect_date("2024-02-29", 2024, 2, 29);  // divisible by 4
  expect_date("2000-02-29", 2000, 2, 29);  // divisible by 400
  expect_date("1600-02-29", 1600, 2, 29);
  EXPECT_FALSE(parse_date("2023-02-29").has_value());  // not divisible by 4
  EXPECT_FALSE(parse_date("1900-02-29").has_value());  // divisible by 100, not 400
  EXPECT_FALSE(parse_date("2100-02-29").has_value());
  EXPECT_FALSE(parse_date("2024-02-30").has_value());
}

TEST(Iso8601Date, RefusesMalformedShapes) {
  for (std::string_view s : {
           "",
           "2021",
           "2021-01",
           "2021-1-01",
           "2021-01-1",
           "21-01-01",
           "2021/01/01",
           "2021-01-01 ",
           " 2021-01-01",
           "2021-01-01T00:00",
           "2021-01-01Z",
           "20210101",
           "2021-00-10",
           "2021-13-01",
           "2021-01-00",
           "2021-01-32",
           "2021-0a-01",
           "202x-01-01",
           "+2021-01-01",
           "-021-01-01",
           "2021--1-01",
           "2021-01-+1",
       }) {
    EXPECT_FALSE(parse_date(s).has_value()) << '"' << s << '"';
  }
}

// --------------------------------------------------------- parse_timestamp_ns

TEST(Iso8601Timestamp, KnownInstantWithMicroseconds) {
  // The example of the header: a space separator, microseconds, no offset (UTC).
  EXPECT_EQ(parse_timestamp_ns("2021-01-01 09:15:27.243860"),
            std::optional<std::int64_t>(new_year_2021_0915_27 * ns_per_s + 243'860'000));
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T09:15:27.243860"), std::optional<std::int64_t>(1'609'492'527'243'860'000));
}

TEST(Iso8601Timestamp, KnownInstants) {
  EXPECT_EQ(parse_timestamp_ns("1970-01-01T00:00:00Z"), std::optional<std::int64_t>(0));
  EXPECT_EQ(parse_timestamp_ns("1970-01-01T00:00:00.000000001Z"), std::optional<std::int64_t>(1));
  EXPECT_EQ(parse_timestamp_ns("1969-12-31T23:59:59Z"), std::optional<std::int64_t>(-ns_per_s));
  EXPECT_EQ(parse_timestamp_ns("1969-12-31T23:59:59.5Z"), std::optional<std::int64_t>(-ns_per_s / 2));
  EXPECT_EQ(parse_timestamp_ns("2000-02-29T12:00:00Z"), std::optional<std::int64_t>(951'825'600 * ns_per_s));
  EXPECT_EQ(parse_timestamp_ns("2024-02-29T00:00:00Z"), std::optional<std::int64_t>(1'709'164'800 * ns_per_s));
  EXPECT_EQ(parse_timestamp_ns("1900-03-01T00:00:00Z"), std::optional<std::int64_t>(-2'203'891'200 * ns_per_s));
  // The last instant an int64 of nanoseconds can hold.
  EXPECT_EQ(parse_timestamp_ns("2262-04-11T23:47:16.854775807Z"),
            std::optional<std::int64_t>(std::numeric_limits<std::int64_t>::max()));
}

TEST(Iso8601Timestamp, SecondsAndFractionAreOptional) {
  const std::int64_t minute = (new_year_2021_0915_27 - 27) * ns_per_s;
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T09:15"), std::optional<std::int64_t>(minute));
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T09:15Z"), std::optional<std::int64_t>(minute));
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T09:15:27"), std::optional<std::int64_t>(minute + 27 * ns_per_s));
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T09:15:27Z"), std::optional<std::int64_t>(minute + 27 * ns_per_s));
}

TEST(Iso8601Timestamp, FractionDigitsScaleToNanoseconds) {
  const std::int64_t base = new_year_2021_0915_27 * ns_per_s;
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T09:15:27.1Z"), std::optional<std::int64_t>(base + 100'000'000));
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T09:15:27.12Z"), std::optional<std::int64_t>(base + 120'000'000));
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T09:15:27.123Z"), std::optional<std::int64_t>(base + 123'000'000));
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T09:15:27.000001Z"), std::optional<std::int64_t>(base + 1'000));
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T09:15:27.123456789Z"), std::optional<std::int64_t>(base + 123'456'789));
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T09:15:27.999999999Z"), std::optional<std::int64_t>(base + 999'999'999));
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T09:15:27.000000000Z"), std::optional<std::int64_t>(base));
}

TEST(Iso8601Timestamp, TenFractionalDigitsAreRefused) {
  EXPECT_TRUE(parse_timestamp_ns("2021-01-01T09:15:27.123456789").has_value());
  EXPECT_FALSE(parse_timestamp_ns("2021-01-01T09:15:27.1234567890").has_value());
  EXPECT_FALSE(parse_timestamp_ns("2021-01-01T09:15:27.1234567890Z").has_value());
  EXPECT_FALSE(parse_timestamp_ns("2021-01-01T09:15:27.0000000000").has_value());
}

TEST(Iso8601Timestamp, OffsetsShiftToUtc) {
  const std::optional<std::int64_t> utc = new_year_2021_0915_27 * ns_per_s;
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T09:15:27Z"), utc);
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T09:15:27z"), utc);
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T09:15:27+00:00"), utc);
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T09:15:27-00:00"), utc);
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T10:15:27+01:00"), utc);
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T10:15:27+0100"), utc);
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T04:15:27-05:00"), utc);
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T04:15:27-0500"), utc);
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T14:45:27+05:30"), utc);
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T14:45:27+0530"), utc);
  // An offset that moves the instant across a day and a year boundary.
  EXPECT_EQ(parse_timestamp_ns("2020-12-31T23:15:27-10:00"), utc);
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T23:15:27+14:00"), utc);
  // Offset with a fraction and minutes-only precision.
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T10:15:27.5+01:00"), std::optional<std::int64_t>(*utc + 500'000'000));
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T10:15+01:00"), std::optional<std::int64_t>(*utc - 27 * ns_per_s));
}

TEST(Iso8601Timestamp, SeparatorsAccepted) {
  const std::optional<std::int64_t> expected = new_year_2021_0915_27 * ns_per_s;
  EXPECT_EQ(parse_timestamp_ns("2021-01-01T09:15:27"), expected);
  EXPECT_EQ(parse_timestamp_ns("2021-01-01 09:15:27"), expected);
}

TEST(Iso8601Timestamp, LeapDayDependsOnTheYear) {
  EXPECT_TRUE(parse_timestamp_ns("2024-02-29T12:00:00Z").has_value());
  EXPECT_TRUE(parse_timestamp_ns("2000-02-29T12:00:00Z").has_value());
  EXPECT_FALSE(parse_timestamp_ns("2023-02-29T12:00:00Z").has_value());
  EXPECT_FALSE(parse_timestamp_ns("1900-02-29T12:00:00Z").has_value());
  EXPECT_FALSE(parse_timestamp_ns("2100-02-29 12:00").has_value());
}

TEST(Iso8601Timestamp, TimeFieldRanges) {
  EXPECT_TRUE(parse_timestamp_ns("2021-01-01T23:59:59Z").has_value());
  EXPECT_TRUE(parse_timestamp_ns("2021-01-01T00:00:00Z").has_value());
  EXPECT_FALSE(parse_timestamp_ns("2021-01-01T24:00:00Z").has_value());
  EXPECT_FALSE(parse_timestamp_ns("2021-01-01T23:60:00Z").has_value());
  EXPECT_FALSE(parse_timestamp_ns("2021-01-01T23:59:61Z").has_value());
  EXPECT_FALSE(parse_timestamp_ns("2021-01-01T99:00Z").has_value());
  EXPECT_FALSE(parse_timestamp_ns("2021-01-01T10:00:00+24:00").has_value());
  EXPECT_FALSE(parse_timestamp_ns("2021-01-01T10:00:00+01:60").has_value());
}

TEST(Iso8601Timestamp, RefusesMalformedShapes) {
  for (std::string_view s : {
           "",
           "2021-01-01",           // a date alone
           "2021-01-01T",          // no time
           "2021-01-01T09",        // no minutes
           "2021-01-01T09:1",      // one-digit minutes
           "2021-01-01T9:15:27",   // one-digit hour
           "2021-01-01T09:15:2",   // one-digit seconds
           "2021-01-01T09:15:",    // colon without seconds
           "2021-01-01T0915",      // basic format time
           "2021-01-01T09-15-27",  // wrong time separator
           "2021-01-01X09:15:27",  // wrong date/time separator
           "2021-01-01_09:15:27",
           "2021-01-01  09:15:27",  // two spaces
           "2021/01/01T09:15:27",   // wrong date separator
           "2021-13-01T09:15:27",   // month 13
           "2021-01-32T09:15:27",   // day 32
           "2021-01-01T09:15:27.",  // dot without digits
           "2021-01-01T09:15:27.Z",
           "2021-01-01T09:15:27.12a",       // junk in the fraction
           "2021-01-01T09:15.5",            // fraction without seconds
           "2021-01-01T09:15:27ZZ",         // two zones
           "2021-01-01T09:15:27Z ",         // trailing space
           " 2021-01-01T09:15:27Z",         // leading space
           "2021-01-01T09:15:27+",          // sign alone
           "2021-01-01T09:15:27+1",         // one-digit offset
           "2021-01-01T09:15:27+01",        // hours-only offset
           "2021-01-01T09:15:27+01:",       // colon without minutes
           "2021-01-01T09:15:27+01:0",      // one-digit offset minutes
           "2021-01-01T09:15:27+01:000",    // three-digit offset minutes
           "2021-01-01T09:15:27+01:00Z",    // offset and Z
           "2021-01-01T09:15:27+01:00:00",  // offset with seconds
           "2021-01-01T09:15:27 +01:00",    // space before the offset
           "2021-01-01T09:15:27UTC",        // a zone name
           "2021-01-01T09:15:27+aa:00",
           "2021-01-01T09:15:27*01:00",
           "20210101T091527Z",                // basic format
           "2021-01-01T09:15:27.1234567890",  // ten fractional digits
       }) {
    EXPECT_FALSE(parse_timestamp_ns(s).has_value()) << '"' << s << '"';
  }
}

// A timestamp outside what an int64 of nanoseconds can hold (before 1677-09-21
// or after 2262-04-11) cannot be represented, so it must be refused rather than
// wrapped around. The parse runs in a child process: in the sanitizer build,
// signed overflow aborts the process, which would otherwise take every other
// test down with it.
void expect_refused_in_child(const char* s) {
  const std::string style = GTEST_FLAG_GET(death_test_style);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // _Exit: the child ends here, without running exit handlers.
  EXPECT_EXIT(std::_Exit(parse_timestamp_ns(s).has_value() ? 3 : 0), testing::ExitedWithCode(0), "") << s;
  GTEST_FLAG_SET(death_test_style, style);
}

TEST(Iso8601Timestamp, OutOfRangeInstantsAreRefusedNotWrapped) {
  expect_refused_in_child("2021-13-01T00:00:00Z");  // control: refused for its shape, no overflow involved
  expect_refused_in_child("2262-04-11T23:47:17Z");  // one second past the int64 range
  expect_refused_in_child("9999-12-31T23:59:59Z");
  expect_refused_in_child("0001-01-01T00:00:00Z");
  expect_refused_in_child("1000-01-01 00:00");
  expect_refused_in_child("2262-04-11T23:47:16.854775808Z");  // one nanosecond past
  expect_refused_in_child("1677-09-21T00:12:43.145224191Z");  // one nanosecond before the int64 range
}

// The first instants an int64 of nanoseconds holds lie on 1677-09-21, within
// the documented range, so they must parse (also in a child process, for the
// same reason as above).
// Exits 0 when s parses to exactly `expected`.
void expect_value_in_child(const char* s, std::int64_t expected) {
  const std::string style = GTEST_FLAG_GET(death_test_style);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(std::_Exit(parse_timestamp_ns(s) == std::optional<std::int64_t>(expected) ? 0 : 3),
              testing::ExitedWithCode(0), "")
      << s;
  GTEST_FLAG_SET(death_test_style, style);
}

TEST(Iso8601Timestamp, EarliestRepresentableInstantsParse) {
  expect_value_in_child("1677-09-21T00:12:44Z", -9'223'372'036 * ns_per_s);  // control
  expect_value_in_child("1677-09-21T00:12:43.5Z", -9'223'372'036'500'000'000);
  expect_value_in_child("1677-09-21T00:12:43.145224192Z", std::numeric_limits<std::int64_t>::min());
}

}  // namespace
