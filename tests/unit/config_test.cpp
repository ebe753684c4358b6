#include "runtime/config.h"

#include <gtest/gtest.h>

namespace {

using namespace daisy;

struct Listen {
  bool ok;
  std::string host;
  unsigned short port;
};

Listen parse(const std::string& s) {
  Listen l{false, "unset", 1};
  l.ok = parse_listen(s, l.host, l.port);
  return l;
}

TEST(ParseListen, Ipv4) {
  Listen l = parse("127.0.0.1:8080");
  EXPECT_TRUE(l.ok);
  EXPECT_EQ(l.host, "127.0.0.1");
  EXPECT_EQ(l.port, 8080);
}

TEST(ParseListen, BracketedIpv6) {
  Listen l = parse("[::1]:9000");
  EXPECT_TRUE(l.ok);
  EXPECT_EQ(l.host, "::1");
  EXPECT_EQ(l.port, 9000);
}

TEST(ParseListen, PortBounds) {
  Listen any = parse("0.0.0.0:0");
  EXPECT_TRUE(any.ok);
  EXPECT_EQ(any.port, 0);
  Listen top = parse("localhost:65535");
  EXPECT_TRUE(top.ok);
  EXPECT_EQ(top.host, "localhost");
  EXPECT_EQ(top.port, 65535);
  EXPECT_FALSE(parse("localhost:65536").ok);
}

TEST(ParseListen, RefusesMalformedInput) {
  for (const char* bad : {"8080", "host:", "host:99999", ":80", "", ":", "host:80x", "host:-1", "host: 80", "host:+80",
                          "[::1]", "host:0x50"}) {
    Listen l = parse(bad);
    EXPECT_FALSE(l.ok) << "'" << bad << "' gave " << l.host << " " << l.port;
    EXPECT_EQ(l.port, 1) << "port must be left alone on failure: " << bad;
  }
}

// "[]:80" names no host, like ":80".
TEST(ParseListen, RefusesEmptyBracketedHost) { EXPECT_FALSE(parse("[]:80").ok); }

TEST(EffectiveDb, DefaultsUnderTheDataDir) {
  Config c;
  EXPECT_EQ(effective_db(c), "sqlite:./daisy-data/daisy.db");
  c.data_dir = "/var/lib/daisy";
  EXPECT_EQ(effective_db(c), "sqlite:/var/lib/daisy/daisy.db");
  c.db = "sqlite:/tmp/other.db";
  EXPECT_EQ(effective_db(c), "sqlite:/tmp/other.db");
}

TEST(Config, Defaults) {
  Config c;
  EXPECT_EQ(c.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.max_body_bytes, 1024u * 1024u);
  EXPECT_EQ(c.max_header_bytes, 16u * 1024u);
  EXPECT_EQ(c.sqlite_synchronous, "full");
}

}  // namespace
