// What a publishable key may do: origin patterns and the key's token bucket.
#include <gtest/gtest.h>

#include "auth/key_rate_limiter.h"
#include "domain/app.h"

namespace {

using daisy::AppAccess;
using daisy::check_origin_pattern;
using daisy::KeyRateLimiter;
using daisy::origin_matches;

TEST(OriginPattern, AcceptsOriginsAndOneLeadingWildcardLabel) {
  for (const char* ok : {"https://www.example.com", "http://127.0.0.1:8080", "https://*.example.com",
                         "HTTPS://Example.COM", "http://localhost:3000"}) {
    EXPECT_EQ(check_origin_pattern(ok), "") << ok;
  }
  for (const char* bad : {"example.com", "ftp://example.com", "https://example.com/", "https://example.com/app",
                          "https://", "https://a.*.example.com", "https://example.com:", "https://example.com:80a",
                          "https://exa mple.com", "*", "https://.example.com"}) {
    EXPECT_NE(check_origin_pattern(bad), "") << bad;
  }
}

TEST(OriginPattern, MatchesExactlyOrBySubdomain) {
  EXPECT_TRUE(origin_matches("https://www.example.com", "https://www.example.com"));
  EXPECT_TRUE(origin_matches("https://www.example.com", "HTTPS://WWW.EXAMPLE.COM"));
  EXPECT_FALSE(origin_matches("https://www.example.com", "http://www.example.com"));
  EXPECT_FALSE(origin_matches("https://www.example.com", "https://www.example.com:8443"));
  EXPECT_FALSE(origin_matches("https://www.example.com", "https://www.example.com.evil.org"));
  EXPECT_TRUE(origin_matches("https://*.example.com", "https://a.example.com"));
  EXPECT_TRUE(origin_matches("https://*.example.com", "https://a.b.example.com"));
  EXPECT_FALSE(origin_matches("https://*.example.com", "https://example.com"));
  EXPECT_FALSE(origin_matches("https://*.example.com", "https://evilexample.com"));
  EXPECT_FALSE(origin_matches("https://*.example.com", "https://a.example.com:444"));
  EXPECT_FALSE(origin_matches("https://*.example.com", "http://a.example.com"));
  EXPECT_TRUE(origin_matches("http://*.example.com:8080", "http://a.example.com:8080"));
  EXPECT_FALSE(origin_matches("http://*.example.com:8080", "http://a.example.com"));
  EXPECT_FALSE(origin_matches("https://*.example.com", "null"));
}

TEST(KeyRateLimiter, TakesFromAFullBucketThenRefillsAtTheRate) {
  KeyRateLimiter limits;
  AppAccess access;
  access.events_per_second = 10;
  access.burst = 20;
  const std::int64_t t0 = 1'000'000'000'000;
  EXPECT_FALSE(limits.take("app", access, 15, t0));
  EXPECT_FALSE(limits.take("app", access, 5, t0));
  auto wait = limits.take("app", access, 10, t0);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 1);                                           // 10 events at 10 a second
  EXPECT_FALSE(limits.take("other", access, 20, t0));            // buckets are per app
  EXPECT_TRUE(limits.take("app", access, 6, t0 + 500'000'000));  // 5 refilled in 0.5 s
  EXPECT_FALSE(limits.take("app", access, 5, t0 + 500'000'000));
  // Larger than the burst: taken from a full bucket, never refused forever.
  EXPECT_FALSE(limits.take("app", access, 100, t0 + 10'000'000'000));
  auto long_wait = limits.take("app", access, 100, t0 + 10'000'000'000);
  ASSERT_TRUE(long_wait);
  EXPECT_EQ(*long_wait, 2);  // a full bucket (20) at 10 a second
}

}  // namespace
