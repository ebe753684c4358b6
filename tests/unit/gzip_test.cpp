#include "util/gzip.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace {

using namespace daisy;

std::string gzip(const std::string& plain) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, plain.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  zs.avail_in = static_cast<uInt>(plain.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

TEST(Gunzip, RoundTrips) {
  std::string plain;
  for (int i = 0; i < 20000; ++i) plain += "line " + std::to_string(i) + "\n";
  std::string out;
  ASSERT_EQ(gunzip(gzip(plain), 1 << 20, out), GunzipResult::ok);
  EXPECT_EQ(out, plain);
}

TEST(Gunzip, ReadsConcatenatedMembers) {
  std::string out;
  ASSERT_EQ(gunzip(gzip("hello ") + gzip("world"), 1024, out), GunzipResult::ok);
  EXPECT_EQ(out, "hello world");
}

TEST(Gunzip, BoundsTheNumberOfMembers) {
  std::string many;
  for (int i = 0; i < 2000; ++i) many += gzip("");
  std::string out;
  EXPECT_EQ(gunzip(many, 1 << 20, out), GunzipResult::corrupt);
  std::string some;
  for (int i = 0; i < 100; ++i) some += gzip("x");
  ASSERT_EQ(gunzip(some, 1 << 20, out), GunzipResult::ok);
  EXPECT_EQ(out, std::string(100, 'x'));
}

TEST(Gunzip, StopsAtTheOutputLimit) {
  std::string bomb = gzip(std::string(8 << 20, 'a'));  // 8 MiB of 'a' in a few KiB
  std::string out;
  EXPECT_EQ(gunzip(bomb, 1 << 20, out), GunzipResult::too_large);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(gunzip(bomb, 8 << 20, out), GunzipResult::ok);
  EXPECT_EQ(out.size(), std::size_t{8} << 20);
}

TEST(Gunzip, RefusesCorruptAndTruncatedStreams) {
  std::string good = gzip("some text to compress, some text to compress");
  std::string out;
  EXPECT_EQ(gunzip("plain text", 1024, out), GunzipResult::corrupt);
  EXPECT_EQ(gunzip(good.substr(0, good.size() - 6), 1024, out), GunzipResult::corrupt);
  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x55;
  EXPECT_EQ(gunzip(flipped, 1024, out), GunzipResult::corrupt);
  EXPECT_EQ(gunzip("", 1024, out), GunzipResult::corrupt);
}

}  // namespace
