// What the PostgreSQL store does to text before sending it: UTF-8 without
// NUL bytes (util/utf8) and passwords kept out of messages (pg::redact).

#include <gtest/gtest.h>

#include "store/postgres/pg_connection.h"
#include "util/utf8.h"

namespace daisy {
namespace {

TEST(PostgresText, WellFormedTextWithoutNulIsSentAsItIs) {
  EXPECT_TRUE(is_utf8_without_nul(""));
  EXPECT_TRUE(is_utf8_without_nul("plain ascii"));
  EXPECT_TRUE(is_utf8_without_nul("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_EQ(pg::Param(std::string_view("caf\xC3\xA9")).text, "caf\xC3\xA9");
}

TEST(PostgresText, NulAndIllFormedBytesBecomeReplacementCharacters) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_FALSE(is_utf8_without_nul(std::string_view("a\0b", 3)));
  EXPECT_FALSE(is_utf8_without_nul("caf\xE9"));       // latin-1
  EXPECT_FALSE(is_utf8_without_nul("\xC3"));          // cut short
  EXPECT_FALSE(is_utf8_without_nul("\xED\xA0\x80"));  // a surrogate
  EXPECT_FALSE(is_utf8_without_nul("\xC0\xAF"));      // overlong
  EXPECT_EQ(to_utf8_without_nul(std::string_view("a\0b", 3)), "a" + fffd + "b");
  EXPECT_EQ(to_utf8_without_nul("caf\xE9!"), "caf" + fffd + "!");
  EXPECT_EQ(pg::Param(std::string_view("\0x\xFF", 3)).text, fffd + "x" + fffd);
  pg::ArrayLiteral array;
  array.add(std::string_view("q\"\\\0", 4)).add("\xFF");
  EXPECT_EQ(array.take().text, "{\"q\\\"\\\\" + fffd + "\",\"" + fffd + "\"}");
}

TEST(PostgresText, PasswordsAreRedactedWhereverTheyAppear) {
  EXPECT_EQ(pg::redact("postgres://daisy:s3cret@db:5432/daisy", "postgres://daisy:s3cret@db:5432/daisy"),
            "postgres://daisy:***@db:5432/daisy");
  EXPECT_EQ(pg::redact("failed for host=db password = s3cret x", "host=db password = s3cret dbname=daisy"),
            "failed for host=db password = *** x");
  EXPECT_EQ(pg::redact("password='a b' rejected", "host=db password='a b'"), "password='***' rejected");
  // libpq quotes a malformed percent-encoding from the URI in its error.
  EXPECT_EQ(pg::redact("invalid percent-encoded token: \"50%off\"", "postgres://u:50%off@db/daisy"),
            "invalid percent-encoded token: \"***\"");
  EXPECT_EQ(pg::redact("no secret here", "postgres://db/daisy"), "no secret here");
}

}  // namespace
}  // namespace daisy
