#include "feeds/search_index.h"

#include <gtest/gtest.h>

#include "util/time_zone.h"

namespace {

using namespace daisy;
using namespace daisy::feeds;

SearchablePlan plan(std::string id, std::string starts, std::string ends, std::string min = "1",
                    std::string max = "2") {
  std::string title = "Title " + id;
  return {std::move(id), std::move(title), std::move(starts), std::move(ends), std::move(min), std::move(max)};
}

// Unix seconds of a UTC time, for bounds.
std::int64_t utc(int y, unsigned m, unsigned d, unsigned h, unsigned mi, unsigned s = 0) {
  return *local_to_unix_seconds("UTC", y, m, d, h, mi, s);
}

TEST(SearchIndex, ReturnsPlansContainedInTheRangeEdgesIncluded) {
  SearchIndex index;
  index.replace("p", search_plans({plan("a", "2024-03-08T10:00:00", "2024-03-08T12:00:00"),
                                   plan("b", "2024-03-08T11:00:00", "2024-03-08T13:00:00"),
                                   plan("c", "2024-03-09T10:00:00", "2024-03-09T11:00:00")},
                                  "UTC"));
  auto snap = index.snapshot();
  auto ids_in = [&](std::optional<std::int64_t> from, std::optional<std::int64_t> to) {
    std::string body = SearchIndex::search(*snap, from, to);
    std::string ids;
    for (std::string id : {"a", "b", "c"}) {
      if (body.find("\"Title " + id + "\"") != std::string::npos) ids += id;
    }
    return ids;
  };
  EXPECT_EQ(ids_in(std::nullopt, std::nullopt), "abc");
  EXPECT_EQ(ids_in(utc(2024, 3, 8, 10, 0), utc(2024, 3, 8, 12, 0)), "a");
  EXPECT_EQ(ids_in(utc(2024, 3, 8, 10, 0, 1), utc(2024, 3, 8, 13, 0)), "b");
  EXPECT_EQ(ids_in(utc(2024, 3, 8, 10, 0), utc(2024, 3, 8, 12, 59, 59)), "a");
  EXPECT_EQ(ids_in(utc(2024, 3, 8, 11, 0), std::nullopt), "bc");
  EXPECT_EQ(ids_in(std::nullopt, utc(2024, 3, 8, 13, 0)), "ab");
  EXPECT_EQ(ids_in(utc(2024, 3, 10, 0, 0), std::nullopt), "");
}

TEST(SearchIndex, RendersFeverEventsWithLocalTimesAndNumericPrices) {
  auto plans =
      search_plans({plan("a", "2024-03-08T20:30:00", "2024-03-08T22:00:00", "018.50", "32.00")}, "Europe/Madrid");
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_EQ(plans[0].starts_at, utc(2024, 3, 8, 19, 30));  // CET is UTC+1 in March
  EXPECT_EQ(plans[0].json, R"({"id":"a","title":"Title a","start_date":"2024-03-08","start_time":"20:30:00",)"
                           R"("end_date":"2024-03-08","end_time":"22:00:00","min_price":18.50,"max_price":32.00})");
}

TEST(SearchIndex, ReplacingAProviderKeepsTheOthers) {
  SearchIndex index;
  index.replace("p1", search_plans({plan("a", "2024-01-01T00:00:00", "2024-01-01T01:00:00")}, "UTC"));
  index.replace("p2", search_plans({plan("b", "2023-01-01T00:00:00", "2023-01-01T01:00:00")}, "UTC"));
  auto both = index.snapshot();
  ASSERT_EQ(both->plans.size(), 2u);
  EXPECT_LT(both->plans[0].starts_at, both->plans[1].starts_at);
  index.replace("p1", {});
  EXPECT_EQ(index.snapshot()->plans.size(), 1u);
  EXPECT_EQ(both->plans.size(), 2u);  // a reader's snapshot does not change under it
}

TEST(TimeZone, KnowsIanaNamesAndDaylightSaving) {
  EXPECT_TRUE(is_time_zone("Europe/Madrid"));
  EXPECT_TRUE(is_time_zone("UTC"));
  EXPECT_FALSE(is_time_zone("Mars/Olympus"));
  EXPECT_FALSE(is_time_zone(""));
  // Madrid: UTC+2 in summer.
  EXPECT_EQ(*local_to_unix_seconds("Europe/Madrid", 2024, 7, 1, 12, 0, 0), utc(2024, 7, 1, 10, 0));
  EXPECT_FALSE(local_to_unix_seconds("Mars/Olympus", 2024, 7, 1, 12, 0, 0));
}

}  // namespace
