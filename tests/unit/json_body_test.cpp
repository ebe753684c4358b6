#include "http/json_body.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace {

using namespace daisy::http;
namespace json = boost::json;

// The 400/422 reply of a failed parse, or a test failure.
Response refusal(std::variant<ParsedJson, Response> parsed) {
  auto* r = std::get_if<Response>(&parsed);
  EXPECT_NE(r, nullptr) << "expected a refusal";
  return r ? std::move(*r) : Response(0, "{}");
}

std::string detail_of(const Response& r) {
  return std::string(json::parse(r.body).as_object().at("detail").as_string());
}

std::string type_of(const Response& r) { return std::string(json::parse(r.body).as_object().at("type").as_string()); }

Request with_body(std::string_view body) {
  Request r;
  r.body = body;
  return r;
}

TEST(ParseJson, ParsesADocument) {
  auto parsed = parse_json(R"({"a": 1, "b": "two", "c": [true, null]})");
  ASSERT_TRUE(std::holds_alternative<ParsedJson>(parsed));
  auto root = std::get<ParsedJson>(parsed).root();
  ASSERT_TRUE(root.is_object());
  EXPECT_EQ(int64_t(root["a"]), 1);
  EXPECT_EQ(std::string_view(root["b"]), "two");
  EXPECT_EQ(simdjson::dom::array(root["c"]).size(), 2u);
}

TEST(ParseJson, ParsesScalarsAndArrays) {
  EXPECT_TRUE(std::holds_alternative<ParsedJson>(parse_json("42")));
  EXPECT_TRUE(std::holds_alternative<ParsedJson>(parse_json(" [1,2] ")));
  EXPECT_TRUE(std::holds_alternative<ParsedJson>(parse_json("\"s\"")));
  EXPECT_TRUE(std::holds_alternative<ParsedJson>(parse_json("null")));
}

TEST(ParseJson, MalformedNamesLineAndColumn) {
  Response r = refusal(parse_json("{\n  \"a\": ,}"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/problem+json");
  EXPECT_EQ(type_of(r), "urn:daisy:problem:malformed-json");
  // The comma is at byte 9: line 2, column 8.
  EXPECT_EQ(detail_of(r), "Malformed JSON at line 2, column 8 (byte 9): syntax error.");
}

TEST(ParseJson, MalformedPositionsOnLaterLines) {
  EXPECT_EQ(detail_of(refusal(parse_json("[1, 2,\n\n 3 x]"))),
            "Malformed JSON at line 3, column 4 (byte 11): syntax error.");
  EXPECT_EQ(detail_of(refusal(parse_json("x"))), "Malformed JSON at line 1, column 1 (byte 0): syntax error.");
}

TEST(ParseJson, TruncatedDocumentIsIncomplete) {
  Response r = refusal(parse_json("{\"a\": 1"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(detail_of(r), "Malformed JSON at line 1, column 8 (byte 7): incomplete JSON.");
}

TEST(ParseJson, TrailingDataIsRefusedAtItsPosition) {
  Response r = refusal(parse_json("{} x"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(detail_of(r).find("line 1, column 4 (byte 3)"), std::string::npos) << detail_of(r);
}

// Trailing data after a complete document is reported as extra data, not as
// an incomplete document.
TEST(ParseJson, TrailingDataIsReportedAsExtraData) {
  std::string detail = detail_of(refusal(parse_json("{} x")));
  EXPECT_NE(detail.find("extra data"), std::string::npos) << detail;
  EXPECT_EQ(detail.find("incomplete"), std::string::npos) << detail;
}

TEST(ParseJson, EmptyBody) {
  Response r = refusal(parse_json(""));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(type_of(r), "urn:daisy:problem:malformed-json");
  EXPECT_EQ(detail_of(r), "The request body is empty; a JSON document is required.");
}

TEST(ParseJsonObjectBody, AcceptsAnObject) {
  Request req = with_body(R"({"name": "x"})");
  auto parsed = parse_json_object_body(req);
  ASSERT_TRUE(std::holds_alternative<ParsedJson>(parsed));
  EXPECT_TRUE(std::get<ParsedJson>(parsed).root().is_object());
}

TEST(ParseJsonObjectBody, NonObjectIs422) {
  for (std::string_view body : {"[1, 2]", "\"name\"", "42", "null", "true"}) {
    Request req = with_body(body);
    Response r = refusal(parse_json_object_body(req));
    EXPECT_EQ(r.status, 422) << body;
    json::object b = json::parse(r.body).as_object();
    EXPECT_EQ(b.at("type").as_string(), "urn:daisy:problem:validation-failed");
    EXPECT_EQ(b.at("detail").as_string(), "The request body must be a JSON object.");
    const auto& errors = b.at("errors").as_array();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].as_object().at("field").as_string(), "");
    EXPECT_EQ(errors[0].as_object().at("message").as_string(), "must be an object");
  }
}

TEST(ParseJsonObjectBody, MalformedAndEmptyAre400) {
  Request bad = with_body("{\"a\":");
  EXPECT_EQ(refusal(parse_json_object_body(bad)).status, 400);
  Request empty = with_body("");
  EXPECT_EQ(refusal(parse_json_object_body(empty)).status, 400);
}

TEST(GetString, ReportsMissingAndMistypedFields) {
  auto parsed = parse_json(R"({"name": "daisy", "n": 3})");
  ASSERT_TRUE(std::holds_alternative<ParsedJson>(parsed));
  simdjson::dom::object obj = std::get<ParsedJson>(parsed).root().get_object().value();
  std::vector<FieldError> errors;

  EXPECT_EQ(get_string(obj, "name", true, errors), "daisy");
  EXPECT_TRUE(errors.empty());

  EXPECT_EQ(get_string(obj, "absent", false, errors), std::nullopt);
  EXPECT_TRUE(errors.empty());

  EXPECT_EQ(get_string(obj, "absent", true, errors), std::nullopt);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "absent");
  EXPECT_EQ(errors[0].message, "is required");

  EXPECT_EQ(get_string(obj, "n", false, errors, "app."), std::nullopt);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[1].field, "app.n");
  EXPECT_EQ(errors[1].message, "must be a string");
}

TEST(ParsedJson, StaysValidAfterOtherParsesOnTheSameThread) {
  auto a = parse_json(R"({"name": "alpha", "list": [1, 2, 3]})");
  ASSERT_TRUE(std::holds_alternative<ParsedJson>(a));
  {
    auto b = parse_json(R"({"name": "beta", "other": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"})");
    ASSERT_TRUE(std::holds_alternative<ParsedJson>(b));
    EXPECT_EQ(std::string_view(std::get<ParsedJson>(b).root()["name"]), "beta");
  }                                                                      // b's parser goes back to the pool...
  auto c = parse_json(R"({"name": "gamma", "list": [9, 9, 9, 9, 9]})");  // ...and is reused here
  ASSERT_TRUE(std::holds_alternative<ParsedJson>(c));
  auto failed = parse_json("{\"name\": ");  // a failed parse returns its parser too
  ASSERT_TRUE(std::holds_alternative<Response>(failed));
  auto d = parse_json(R"({"name": "delta"})");
  ASSERT_TRUE(std::holds_alternative<ParsedJson>(d));

  auto root = std::get<ParsedJson>(a).root();
  EXPECT_EQ(std::string_view(root["name"]), "alpha");
  simdjson::dom::array list = root["list"];
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(int64_t(list.at(2)), 3);
  EXPECT_EQ(std::string_view(std::get<ParsedJson>(c).root()["name"]), "gamma");
  EXPECT_EQ(std::string_view(std::get<ParsedJson>(d).root()["name"]), "delta");
}

TEST(ParsedJson, StaysValidWhenMoved) {
  auto a = parse_json(R"({"name": "alpha"})");
  ASSERT_TRUE(std::holds_alternative<ParsedJson>(a));
  ParsedJson moved = std::move(std::get<ParsedJson>(a));
  auto b = parse_json(R"({"name": "beta"})");
  ASSERT_TRUE(std::holds_alternative<ParsedJson>(b));
  EXPECT_EQ(std::string_view(moved.root()["name"]), "alpha");
}

TEST(ParsedJson, ManyLiveDocumentsBeyondThePoolSize) {
  std::vector<ParsedJson> docs;
  for (int i = 0; i < 20; ++i) {
    auto p = parse_json("{\"i\": " + std::to_string(i) + "}");
    ASSERT_TRUE(std::holds_alternative<ParsedJson>(p));
    docs.push_back(std::move(std::get<ParsedJson>(p)));
  }
  for (int i = 0; i < 20; ++i) EXPECT_EQ(int64_t(docs[i].root()["i"]), i);
}

}  // namespace
