#include "util/ids.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"

namespace {

using namespace daisy;

using daisy::test::matches_shape;

// Lower-case canonical form; the version and variant digits are checked apart.
constexpr std::string_view uuid_shape = "%%%%%%%%-%%%%-%%%%-%%%%-%%%%%%%%%%%%";

std::uint64_t timestamp_ms(const std::string& uuid) {
  return std::stoull(uuid.substr(0, 8) + uuid.substr(9, 4), nullptr, 16);
}

TEST(Ids, UuidV7Format) {
  for (int i = 0; i < 200; ++i) {
    std::string id = new_uuid_v7();
    ASSERT_EQ(id.size(), 36u);
    EXPECT_TRUE(matches_shape(id, uuid_shape)) << id;
    EXPECT_EQ(id[14], '7') << "version nibble: " << id;
    int variant = std::stoi(id.substr(19, 1), nullptr, 16);
    EXPECT_EQ(variant >> 2, 0b10) << "variant bits: " << id;
    EXPECT_TRUE(is_uuid(id));
  }
}

TEST(Ids, UuidV7CarriesTheCurrentTimeInMilliseconds) {
  auto now_ms = [] {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
  };
  std::uint64_t before = now_ms();
  std::string id = new_uuid_v7();
  std::uint64_t after = now_ms();
  std::uint64_t ts = timestamp_ms(id);
  // Ids issued in a burst may borrow the next milliseconds, hence the slack.
  EXPECT_GE(ts, before);
  EXPECT_LE(ts, after + 1000);
}

TEST(Ids, UuidV7StrictlyIncreasing) {
  std::string previous = new_uuid_v7();
  for (int i = 0; i < 10000; ++i) {
    std::string id = new_uuid_v7();
    ASSERT_LT(previous, id) << "after " << i << " ids";
    previous = std::move(id);
  }
}

TEST(Ids, UuidV7UniqueAcrossThreads) {
  std::mutex mu;
  std::set<std::string> all;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::vector<std::string> mine;
      for (int i = 0; i < 2000; ++i) mine.push_back(new_uuid_v7());
      for (std::size_t i = 1; i < mine.size(); ++i) EXPECT_LT(mine[i - 1], mine[i]);
      std::lock_guard lock(mu);
      all.insert(mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(all.size(), 8000u);
}

TEST(Ids, IsUuid) {
  EXPECT_TRUE(is_uuid("01936f6e-8f1a-7c2b-9d4e-5f6a7b8c9d0e"));
  EXPECT_TRUE(is_uuid("01936F6E-8F1A-7C2B-9D4E-5F6A7B8C9D0E"));
  EXPECT_TRUE(is_uuid("00000000-0000-0000-0000-000000000000"));
  EXPECT_FALSE(is_uuid(""));
  EXPECT_FALSE(is_uuid("01936f6e-8f1a-7c2b-9d4e-5f6a7b8c9d0"));    // 35 chars
  EXPECT_FALSE(is_uuid("01936f6e-8f1a-7c2b-9d4e-5f6a7b8c9d0e0"));  // 37 chars
  EXPECT_FALSE(is_uuid("01936f6e8f1a-7c2b-9d4e-5f6a7b8c9d0e-"));   // hyphen moved
  EXPECT_FALSE(is_uuid("01936f6e-8f1a-7c2b-9d4e_5f6a7b8c9d0e"));
  EXPECT_FALSE(is_uuid("g1936f6e-8f1a-7c2b-9d4e-5f6a7b8c9d0e"));
  EXPECT_FALSE(is_uuid("{1936f6e-8f1a-7c2b-9d4e-5f6a7b8c9d0}"));
}

TEST(Ids, RequestIds) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = new_request_id();
    ASSERT_TRUE(matches_shape(id, std::string(32, '%'))) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace

namespace {

TEST(Ids, ShapeMatcherUsedByTheseTestsRejectsWrongShapes) {
  EXPECT_TRUE(matches_shape("01936f6e-8f1a-7c2b-9d4e-5f6a7b8c9d0e", uuid_shape));
  EXPECT_FALSE(matches_shape("01936F6E-8F1A-7C2B-9D4E-5F6A7B8C9D0E", uuid_shape));  // upper case
  EXPECT_FALSE(matches_shape("01936f6e-8f1a-7c2b-9d4e-5f6a7b8c9d0g", uuid_shape));
  EXPECT_FALSE(matches_shape("01936f6e-8f1a-7c2b-9d4e-5f6a7b8c9d0", uuid_shape));
  EXPECT_FALSE(matches_shape("01936f6e_8f1a-7c2b-9d4e-5f6a7b8c9d0e", uuid_shape));
  EXPECT_FALSE(matches_shape("2026-11-22T07:30:00.12xZ", "####-##-##T##:##:##.###Z"));
  EXPECT_FALSE(matches_shape("Mon, 01 Jan 2026 00:00:00 UTC", "@@@, ## @@@ #### ##:##:## GMT"));
  EXPECT_FALSE(matches_shape("M0n, 01 Jan 2026 00:00:00 GMT", "@@@, ## @@@ #### ##:##:## GMT"));
}

TEST(Ids, NameBasedUuidIsStableAndDistinct) {
  std::string a = name_based_uuid("provider\n12\n900");
  EXPECT_EQ(a, name_based_uuid("provider\n12\n900"));
  EXPECT_NE(a, name_based_uuid("provider\n78\n900"));
  EXPECT_TRUE(matches_shape(a, uuid_shape)) << a;
  EXPECT_EQ(a[14], '8');                                               // version 8
  EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos) << a;  // RFC 9562 variant
}

}  // namespace
