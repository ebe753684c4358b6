#include "domain/event.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <string>

namespace {

using namespace daisy;
namespace json = boost::json;

constexpr std::int64_t now = 1'700'000'000'000'000'000;  // 2023-11-14T22:13:20Z
constexpr std::int64_t skew = 60'000'000'000;

// The check points into the document: keep the last one alive.
json::value document;
EventCheck check(const std::string& text) {
  document = json::parse(text);
  return check_event(document, now, skew);
}

std::string valid_with(const std::string& field, const std::string& value_json) {
  json::object e = json::parse(R"({"session_id":"0190C7A2-5B1E-7C3D-9F00-2A1B3C4D5E6F","category":"page interaction",
      "name":"pageview","data":{"host":"h"},"timestamp":"2021-01-01 09:15:27.243860"})")
                       .as_object();
  if (value_json.empty()) {
    e.erase(field);
  } else {
    e[field] = json::parse(value_json);
  }
  return json::serialize(e);
}

bool has_error(const EventCheck& c, const std::string& field, const std::string& message_part = "") {
  for (const auto& e : c.errors) {
    if (e.field == field && e.message.find(message_part) != std::string::npos) return true;
  }
  return false;
}

TEST(EventCheck, AcceptsAValidEventAndNormalisesTheSession) {
  EventCheck c = check(valid_with("name", R"("pageview")"));
  ASSERT_TRUE(c.errors.empty()) << c.errors.front().message;
  EXPECT_EQ(c.event.session_id, "0190c7a2-5b1e-7c3d-9f00-2a1b3c4d5e6f");
  EXPECT_EQ(c.event.category, "page interaction");
  EXPECT_EQ(c.event.timestamp_ns, 1'609'492'527'243'860'000);
  ASSERT_NE(c.event.data, nullptr);
  EXPECT_TRUE(c.event.data->is_object());
}

TEST(EventCheck, RequiresEachField) {
  for (const char* field : {"session_id", "category", "name", "data", "timestamp"}) {
    EventCheck c = check(valid_with(field, ""));
    EXPECT_TRUE(has_error(c, field, "required")) << field;
    EXPECT_EQ(c.reason, RejectionReason::invalid);
  }
}

TEST(EventCheck, RefusesWrongTypesAndShapes) {
  EXPECT_TRUE(has_error(check(valid_with("session_id", R"("not-a-uuid")")), "session_id", "UUID"));
  EXPECT_TRUE(has_error(check(valid_with("category", R"("")")), "category", "empty"));
  EXPECT_TRUE(has_error(check(valid_with("name", "7")), "name", "string"));
  EXPECT_TRUE(has_error(check(valid_with("data", "[]")), "data", "object"));
  EXPECT_TRUE(has_error(check(valid_with("timestamp", R"("yesterday")")), "timestamp", "ISO 8601"));
  EXPECT_TRUE(has_error(check(valid_with("extra", "1")), "extra", "not a known field"));
  EXPECT_TRUE(has_error(check("[1,2]"), "", "object"));
}

TEST(EventCheck, CountsCharactersNotBytesInNames) {
  std::string ok(128, 'a');
  EXPECT_TRUE(check(valid_with("name", "\"" + ok + "\"")).errors.empty());
  EXPECT_TRUE(has_error(check(valid_with("name", "\"" + ok + "a\"")), "name", "128"));
  std::string accented;
  for (int i = 0; i < 128; ++i) accented += "\xc3\xa9";  // é, two bytes each
  EXPECT_TRUE(check(valid_with("category", "\"" + accented + "\"")).errors.empty());
}

// A name is shown in the console and written in logs: nothing in it may
// break a line or reorder what a person reads.
TEST(EventCheck, NamesRefuseControlAndBidiCharacters) {
  for (const char* bad : {R"("a\nb")", R"("a\tb")", R"("a\u001b[31m")", R"("a\u007f")", R"("a\u0085")",
                          R"("exe.\u202etxt")", R"("a\u2066b")", R"("a\u2028b")"}) {
    EXPECT_TRUE(has_error(check(valid_with("name", bad)), "name", "control")) << bad;
    EXPECT_TRUE(has_error(check(valid_with("category", bad)), "category", "bidirectional")) << bad;
  }
  EXPECT_TRUE(check(valid_with("name", R"("caf\u00e9 \u05e9\u05dc\u05d5\u05dd")")).errors.empty());
}

TEST(EventCheck, RefusesTimestampsBeyondTheSkew) {
  // now + 59 s is fine, now + 61 s is not.
  EventCheck near = check(valid_with("timestamp", R"("2023-11-14T22:14:19Z")"));
  EXPECT_TRUE(near.errors.empty());
  EventCheck far = check(valid_with("timestamp", R"("2023-11-14T22:14:21Z")"));
  EXPECT_TRUE(has_error(far, "timestamp", "timestamp is in the future"));
  EXPECT_EQ(far.reason, RejectionReason::future_timestamp);
  EventCheck beyond_int64 = check(valid_with("timestamp", R"("2999-01-01T00:00:00Z")"));
  EXPECT_TRUE(has_error(beyond_int64, "timestamp", "timestamp is in the future"));
}

TEST(EventCheck, ReasonNames) {
  EXPECT_STREQ(rejection_reason_name(RejectionReason::schema), "schema");
  EXPECT_STREQ(rejection_reason_name(RejectionReason::unknown_type), "unknown_type");
  EXPECT_STREQ(rejection_reason_name(RejectionReason::future_timestamp), "future_timestamp");
}

}  // namespace

#include "util/utf8.h"

namespace {

TEST(SanitizeUtf8, KeepsValidTextAndCutsAtACharacter) {
  bool truncated = true;
  EXPECT_EQ(daisy::sanitize_utf8("caf\xC3\xA9", 100, truncated), "caf\xC3\xA9");
  EXPECT_FALSE(truncated);
  EXPECT_EQ(daisy::sanitize_utf8("caf\xC3\xA9", 4, truncated), "caf");
  EXPECT_TRUE(truncated);
  EXPECT_EQ(daisy::sanitize_utf8("\xF0\x9F\x8C\xBC!", 4, truncated), "\xF0\x9F\x8C\xBC");
  EXPECT_TRUE(truncated);
}

TEST(SanitizeUtf8, ReplacesBytesThatAreNotUtf8) {
  bool truncated = true;
  EXPECT_EQ(daisy::sanitize_utf8("a\x8B"
                                 "b",
                                 100, truncated),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(daisy::sanitize_utf8("\xC3", 100, truncated), "\xEF\xBF\xBD");  // cut sequence
  EXPECT_EQ(daisy::sanitize_utf8("\xED\xA0\x80", 100, truncated),           // a surrogate
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(daisy::sanitize_utf8("\xC0\xAF", 100, truncated), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
  EXPECT_FALSE(truncated);
}

TEST(SanitizeUtf8, WithoutACapKeepsEveryByteEvenWhenNoneIsUtf8) {
  // Each invalid byte grows to three (U+FFFD): the whole text still fits.
  EXPECT_EQ(daisy::sanitize_utf8("\xFF\xFE\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(daisy::sanitize_utf8("caf\xC3\xA9 \xF0\x9F\x8C\xBC"), "caf\xC3\xA9 \xF0\x9F\x8C\xBC");
  EXPECT_EQ(daisy::sanitize_utf8(""), "");
}

}  // namespace
