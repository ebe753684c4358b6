#include "jobs/retry_policy.h"

#include <gtest/gtest.h>

namespace {

using daisy::jobs::next_retry_delay;
using daisy::jobs::parse_retry_after;
using namespace std::chrono;

TEST(RetryPolicy, FollowsTheScheduleThenStops) {
  std::vector<int> schedule = {0, 5, 30};
  EXPECT_EQ(next_retry_delay(schedule, 0, 0.5), milliseconds(0));
  EXPECT_EQ(next_retry_delay(schedule, 1, 0.5), milliseconds(5000));
  EXPECT_EQ(next_retry_delay(schedule, 2, 0.5), milliseconds(30000));
  EXPECT_FALSE(next_retry_delay(schedule, 3, 0.5));
  EXPECT_FALSE(next_retry_delay({}, 0, 0.5));
}

TEST(RetryPolicy, JitterStaysWithinTwentyPercent) {
  std::vector<int> schedule = {0, 10};
  EXPECT_EQ(next_retry_delay(schedule, 1, 0.0), milliseconds(8000));
  EXPECT_EQ(next_retry_delay(schedule, 1, 0.999999), milliseconds(11999));
}

TEST(RetryPolicy, RetryAfterWinsOnlyWhenLonger) {
  std::vector<int> schedule = {0, 0, 600};
  EXPECT_EQ(next_retry_delay(schedule, 1, 0.5, seconds(3)), milliseconds(3000));
  EXPECT_EQ(next_retry_delay(schedule, 2, 0.5, seconds(3)), milliseconds(600000));
  // At most a day, whatever the receiver asks.
  EXPECT_EQ(next_retry_delay(schedule, 1, 0.5, seconds(10'000'000)), milliseconds(86'400'000));
  // A Retry-After gives no attempt beyond the schedule.
  EXPECT_FALSE(next_retry_delay(schedule, 3, 0.5, seconds(3)));
}

TEST(RetryPolicy, ParsesRetryAfterSecondsAndDates) {
  auto now = system_clock::from_time_t(1'700'000'000);  // 2023-11-14T22:13:20Z
  EXPECT_EQ(parse_retry_after("120", now), seconds(120));
  EXPECT_EQ(parse_retry_after("0", now), seconds(0));
  EXPECT_EQ(parse_retry_after("Tue, 14 Nov 2023 22:14:20 GMT", now), seconds(60));
  EXPECT_EQ(parse_retry_after("Tue, 14 Nov 2023 22:00:00 GMT", now), seconds(0));  // in the past
  EXPECT_EQ(parse_retry_after("99999999999999999999999", now), seconds(86400));
  EXPECT_FALSE(parse_retry_after("", now));
  EXPECT_FALSE(parse_retry_after("-5", now));
  EXPECT_FALSE(parse_retry_after("soon", now));
  EXPECT_FALSE(parse_retry_after("Tue, 14 Nov 2023 22:14:20 GMT trailing", now));
}

}  // namespace
