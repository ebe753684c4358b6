#include "events/event_schema.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <stdexcept>

namespace {

using namespace daisy;
using events::EventSchema;
namespace json = boost::json;

std::vector<FieldError> validate(const char* schema, const char* data) {
  auto compiled = EventSchema::compile(json::parse(schema));
  std::vector<FieldError> errors;
  compiled->validate(json::parse(data), errors);
  return errors;
}

TEST(EventSchema, RequiredPropertiesAndTypes) {
  const char* schema = R"({"type":"object","properties":{"host":{"type":"string"}},"required":["host"]})";
  EXPECT_TRUE(validate(schema, R"({"host":"a"})").empty());
  auto missing = validate(schema, R"({})");
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].field, "data");
  EXPECT_NE(missing[0].message.find("host"), std::string::npos);
  auto wrong = validate(schema, R"({"host":5})");
  ASSERT_FALSE(wrong.empty());
  EXPECT_EQ(wrong[0].field, "data.host");
}

TEST(EventSchema, NestedPathsNameTheDeepestPlace) {
  const char* schema =
      R"({"type":"object","properties":{"items":{"type":"array","items":{"type":"object","properties":{"n":{"type":"integer","maximum":3}}}}}})";
  auto errors = validate(schema, R"({"items":[{"n":1},{"n":9}]})");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "data.items[1].n");
}

TEST(EventSchema, KeywordsTheIssueNames) {
  EXPECT_FALSE(validate(R"({"properties":{"a":{"enum":["x","y"]}}})", R"({"a":"z"})").empty());
  EXPECT_FALSE(validate(R"({"properties":{"a":{"const":1}}})", R"({"a":2})").empty());
  EXPECT_FALSE(validate(R"({"properties":{"a":{"minLength":2}}})", R"({"a":"x"})").empty());
  EXPECT_FALSE(validate(R"({"properties":{"a":{"maxLength":2}}})", R"({"a":"xyz"})").empty());
  EXPECT_FALSE(validate(R"({"properties":{"a":{"pattern":"^[0-9]+$"}}})", R"({"a":"12a"})").empty());
  EXPECT_FALSE(validate(R"({"properties":{"a":{"minimum":0}}})", R"({"a":-1})").empty());
  EXPECT_FALSE(validate(R"({"additionalProperties":false,"properties":{"a":{}}})", R"({"b":1})").empty());
  EXPECT_TRUE(validate(R"({"additionalProperties":false,"properties":{"a":{}}})", R"({"a":1})").empty());
}

TEST(EventSchema, FormatsAreChecked) {
  const char* schema =
      R"({"properties":{"u":{"format":"uuid"},"e":{"format":"email"},"w":{"format":"uri"},"t":{"format":"date-time"}}})";
  EXPECT_TRUE(validate(schema, R"({"u":"0190c7a2-5b1e-7c3d-9f00-2a1b3c4d5e6f","e":"a@b.org",
      "w":"https://example.org/x","t":"2021-01-01T09:15:27Z"})")
                  .empty());
  EXPECT_EQ(validate(schema, R"({"u":"nope"})").at(0).field, "data.u");
  EXPECT_EQ(validate(schema, R"({"e":"not an email"})").at(0).field, "data.e");
  EXPECT_EQ(validate(schema, R"({"w":"no scheme"})").at(0).field, "data.w");
  EXPECT_EQ(validate(schema, R"({"t":"2021-13-01T00:00:00Z"})").at(0).field, "data.t");
}

TEST(EventSchema, AFormatBesidePatternKeepsBoth) {
  const char* schema = R"({"properties":{"u":{"format":"uuid","pattern":"^0190"}}})";
  EXPECT_TRUE(validate(schema, R"({"u":"0190c7a2-5b1e-7c3d-9f00-2a1b3c4d5e6f"})").empty());
  EXPECT_FALSE(validate(schema, R"({"u":"1190c7a2-5b1e-7c3d-9f00-2a1b3c4d5e6f"})").empty());
}

TEST(EventSchema, RefusesSchemasThatCannotWork) {
  EXPECT_THROW(EventSchema::compile(json::parse(R"([1])")), std::invalid_argument);
  EXPECT_THROW(EventSchema::compile(json::parse(R"({"type":"objectx"})")), std::invalid_argument);
  EXPECT_THROW(EventSchema::compile(json::parse(R"({"$ref":"https://example.org/remote.json"})")),
               std::invalid_argument);
  std::string deep = "{}";
  for (int i = 0; i < 40; ++i) deep = R"({"properties":{"a":)" + deep + "}}";
  json::parse_options deep_ok;
  deep_ok.max_depth = 200;  // deeper than request bodies may be, to reach the schema's own limit
  EXPECT_THROW(EventSchema::compile(json::parse(deep, {}, deep_ok)), std::invalid_argument);
}

}  // namespace

namespace {

TEST(EventSchema, RefusesReferencesThatCouldRecurseWithoutEnd) {
  EXPECT_THROW(EventSchema::compile(json::parse(R"({"allOf":[{"$ref":"#"}]})")), std::invalid_argument);
}

TEST(EventSchema, LeavesDataKeywordsAlone) {
  // {"format":"email"} inside const is a value to compare with, not a schema.
  const char* schema = R"({"properties":{"a":{"const":{"format":"email"}}}})";
  EXPECT_TRUE(validate(schema, R"({"a":{"format":"email"}})").empty());
  EXPECT_FALSE(validate(schema, R"({"a":{"format":"uri"}})").empty());
}

TEST(EventSchema, LongStringsNeverReachARegex) {
  std::string long_text(EventSchema::max_regex_string + 1, '7');
  std::string data = R"({"t":")" + long_text + R"("})";
  auto with_format = validate(R"({"properties":{"t":{"format":"date-time"}}})", data.c_str());
  ASSERT_EQ(with_format.size(), 1u);
  EXPECT_EQ(with_format[0].field, "data");
  EXPECT_NE(with_format[0].message.find("4096"), std::string::npos);
  EXPECT_FALSE(validate(R"({"properties":{"t":{"pattern":"^7+$"}}})", data.c_str()).empty());
  // A type without patterns or formats checks long strings as usual.
  EXPECT_TRUE(validate(R"({"properties":{"t":{"type":"string"}}})", data.c_str()).empty());
}

TEST(EventSchema, ReportsAtMostTwentyErrors) {
  std::string items = "[";
  for (int i = 0; i < 5000; ++i) items += i ? ",0" : "0";
  items += "]";
  std::string data = R"({"tags":)" + items + "}";
  auto errors = validate(R"({"properties":{"tags":{"type":"array","items":{"type":"string"}}}})", data.c_str());
  EXPECT_EQ(errors.size(), 20u);
  EXPECT_EQ(errors[0].field.rfind("data.tags[", 0), 0u) << errors[0].field;
}

}  // namespace
