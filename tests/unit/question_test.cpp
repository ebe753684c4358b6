#include "domain/question.h"

#include <gtest/gtest.h>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "test_support.h"

namespace {

using daisy::test::describe;
using daisy::test::has_field;

using namespace daisy;
namespace json = boost::json;

const FieldError* find_field(const std::vector<FieldError>& errors, std::string_view field) {
  for (const auto& e : errors) {
    if (e.field == field) return &e;
  }
  return nullptr;
}

struct Parsed {
  std::optional<Question> question;
  std::vector<FieldError> errors;
};

Parsed parse(std::string_view text, const std::string& path = "q") {
  Parsed p;
  p.question = parse_question(json::parse(text), path, p.errors);
  return p;
}

// Parses a definition that must be valid.
Question make(std::string_view text) {
  Parsed p = parse(text);
  EXPECT_TRUE(p.question.has_value()) << text << " -> " << describe(p.errors);
  EXPECT_TRUE(p.errors.empty()) << text << " -> " << describe(p.errors);
  return p.question ? std::move(*p.question) : Question{};
}

// Parses a definition that must be refused with an error on `field` (and
// appends nothing else than errors).
void expect_refused(std::string_view text, std::string_view field) {
  Parsed p = parse(text);
  EXPECT_FALSE(p.question.has_value()) << text;
  EXPECT_TRUE(has_field(p.errors, field))
      << text << " -> expected an error on " << field << ", got " << describe(p.errors);
}

// Checks an answer; at most one error, always named by the key.
std::vector<FieldError> check(const Question& q, std::string_view answer) {
  std::vector<FieldError> errors;
  check_answer(q, json::parse(answer), errors);
  EXPECT_LE(errors.size(), 1u) << answer << " -> " << describe(errors);
  for (const auto& e : errors) {
    EXPECT_EQ(e.field, q.key) << answer;
    EXPECT_FALSE(e.message.empty()) << answer;
  }
  return errors;
}

void expect_accepts(const Question& q, std::string_view answer) {
  auto errors = check(q, answer);
  EXPECT_TRUE(errors.empty()) << question_type_name(q.type) << " should accept " << answer << ", got "
                              << describe(errors);
}

// Refused, and when `message_part` is not empty the message contains it.
void expect_refuses(const Question& q, std::string_view answer, std::string_view message_part = {}) {
  auto errors = check(q, answer);
  ASSERT_EQ(errors.size(), 1u) << question_type_name(q.type) << " should refuse " << answer;
  if (!message_part.empty()) {
    EXPECT_NE(errors[0].message.find(message_part), std::string::npos)
        << answer << " -> '" << errors[0].message << "' lacks '" << message_part << "'";
  }
}

const std::vector<std::string> all_type_names = {"text", "integer",  "number", "boolean", "choice",  "multi_choice",
                                                 "date", "datetime", "email",  "phone",   "geopoint"};

// A minimal valid definition of each type.
std::string minimal(const std::string& type) {
  if (type == "choice" || type == "multi_choice") {
    return R"({"key":"k","type":")" + type + R"(","options":["a","b"]})";
  }
  return R"({"key":"k","type":")" + type + R"("})";
}

// ------------------------------------------------------------------ types, keys

TEST(QuestionType, NamesRoundTrip) {
  std::set<QuestionType> seen;
  for (const auto& name : all_type_names) {
    auto t = parse_question_type(name);
    ASSERT_TRUE(t.has_value()) << name;
    EXPECT_EQ(question_type_name(*t), name);
    seen.insert(*t);
  }
  EXPECT_EQ(seen.size(), all_type_names.size());
  EXPECT_FALSE(parse_question_type("Text").has_value());
  EXPECT_FALSE(parse_question_type("string").has_value());
  EXPECT_FALSE(parse_question_type("").has_value());
  EXPECT_FALSE(parse_question_type("multi-choice").has_value());
}

TEST(QuestionKey, Validity) {
  EXPECT_TRUE(is_valid_question_key("a"));
  EXPECT_TRUE(is_valid_question_key("age"));
  EXPECT_TRUE(is_valid_question_key("household_size_2"));
  EXPECT_TRUE(is_valid_question_key("z9_"));
  EXPECT_TRUE(is_valid_question_key(std::string(64, 'a')));
  EXPECT_FALSE(is_valid_question_key(std::string(65, 'a')));
  EXPECT_FALSE(is_valid_question_key(""));
  EXPECT_FALSE(is_valid_question_key("1a"));
  EXPECT_FALSE(is_valid_question_key("_a"));
  EXPECT_FALSE(is_valid_question_key("Age"));
  EXPECT_FALSE(is_valid_question_key("aGe"));
  EXPECT_FALSE(is_valid_question_key("a-b"));
  EXPECT_FALSE(is_valid_question_key("a b"));
  EXPECT_FALSE(is_valid_question_key("a.b"));
  EXPECT_FALSE(is_valid_question_key("caf\xC3\xA9"));
}

// ------------------------------------------------------------------- parsing

TEST(QuestionParse, MinimalDefinitionOfEveryType) {
  for (const auto& name : all_type_names) {
    Question q = make(minimal(name));
    EXPECT_EQ(q.key, "k");
    EXPECT_EQ(question_type_name(q.type), name);
    EXPECT_FALSE(q.required) << name;
    EXPECT_TRUE(q.label.empty()) << name;
    EXPECT_TRUE(q.metadata.is_null()) << name;
  }
}

TEST(QuestionParse, CommonFields) {
  Question q = make(R"({"key":"age","type":"integer","label":"Your age","required":true,
                        "metadata":{"section":"a","order":3}})");
  EXPECT_EQ(q.key, "age");
  EXPECT_EQ(q.type, QuestionType::integer);
  EXPECT_EQ(q.label, "Your age");
  EXPECT_TRUE(q.required);
  ASSERT_TRUE(q.metadata.is_object());
  EXPECT_EQ(q.metadata.at("section"), "a");
  EXPECT_EQ(q.metadata.at("order"), 3);

  // null means absent for the optional common fields.
  Question n = make(R"({"key":"k","type":"text","label":null,"required":null,"metadata":null})");
  EXPECT_TRUE(n.label.empty());
  EXPECT_FALSE(n.required);
  EXPECT_TRUE(n.metadata.is_null());
}

TEST(QuestionParse, NotAnObject) {
  for (std::string_view text : {"[]", "\"text\"", "3", "null", "true"}) {
    Parsed p = parse(text, "questions[4]");
    EXPECT_FALSE(p.question.has_value()) << text;
    ASSERT_EQ(p.errors.size(), 1u) << text;
    EXPECT_EQ(p.errors[0].field, "questions[4]");
  }
}

TEST(QuestionParse, CommonFieldErrors) {
  expect_refused(R"({"type":"text"})", "q.key");
  expect_refused(R"({"key":3,"type":"text"})", "q.key");
  expect_refused(R"({"key":"Bad Key","type":"text"})", "q.key");
  expect_refused(R"({"key":"9lives","type":"text"})", "q.key");
  expect_refused(R"({"key":")" + std::string(65, 'k') + R"(","type":"text"})", "q.key");
  expect_refused(R"({"key":"k"})", "q.type");
  expect_refused(R"({"key":"k","type":null})", "q.type");
  expect_refused(R"({"key":"k","type":"string"})", "q.type");
  expect_refused(R"({"key":"k","type":"TEXT"})", "q.type");
  expect_refused(R"({"key":"k","type":"text","label":5})", "q.label");
  expect_refused(R"({"key":"k","type":"text","label":")" + std::string(1001, 'x') + R"("})", "q.label");
  expect_refused(R"({"key":"k","type":"text","required":"yes"})", "q.required");
  expect_refused(R"({"key":"k","type":"text","required":1})", "q.required");
  expect_refused(R"({"key":"k","type":"text","metadata":[]})", "q.metadata");
  expect_refused(R"({"key":"k","type":"text","metadata":"x"})", "q.metadata");
  expect_refused(R"({"key":"k","type":"text","colour":"red"})", "q.colour");
  // A label of exactly 1000 bytes is fine.
  make(R"({"key":"k","type":"text","label":")" + std::string(1000, 'x') + R"("})");
}

TEST(QuestionParse, ReportsEveryErrorAtOnce) {
  Parsed p = parse(R"({"key":"Bad","type":"nope","label":1,"required":"x"})");
  EXPECT_FALSE(p.question.has_value());
  EXPECT_TRUE(has_field(p.errors, "q.key")) << describe(p.errors);
  EXPECT_TRUE(has_field(p.errors, "q.type")) << describe(p.errors);
  EXPECT_TRUE(has_field(p.errors, "q.label")) << describe(p.errors);
  EXPECT_TRUE(has_field(p.errors, "q.required")) << describe(p.errors);
}

TEST(QuestionParse, ErrorsArePrefixedByThePath) {
  Parsed p = parse(R"({"key":"k","type":"integer","min":5,"max":1})", "questions[3]");
  EXPECT_FALSE(p.question.has_value());
  ASSERT_EQ(p.errors.size(), 1u) << describe(p.errors);
  EXPECT_EQ(p.errors[0].field, "questions[3].min");

  Parsed o = parse(R"({"key":"k","type":"choice","options":["a","a"]})", "questions[0]");
  ASSERT_EQ(o.errors.size(), 1u) << describe(o.errors);
  EXPECT_EQ(o.errors[0].field, "questions[0].options[1]");
}

TEST(QuestionParse, ErrorsAreAppendedToExistingOnes) {
  std::vector<FieldError> errors = {{"earlier", "an earlier error"}};
  auto ok = parse_question(json::parse(R"({"key":"k","type":"text"})"), "q", errors);
  EXPECT_TRUE(ok.has_value());  // earlier errors do not make a valid question fail
  EXPECT_EQ(errors.size(), 1u);
  auto bad = parse_question(json::parse(R"({"key":"k","type":"bad"})"), "q", errors);
  EXPECT_FALSE(bad.has_value());
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].field, "earlier");
  EXPECT_EQ(errors[1].field, "q.type");
}

// Which constraint each type accepts; any other is "<path>.<constraint>".
TEST(QuestionParse, ConstraintsAllowedPerType) {
  const std::vector<std::pair<std::string, std::string>> constraints = {
      {"min_length", "1"}, {"max_length", "5"},          {"pattern", "\"[a-z]+\""}, {"min", "0"},
      {"max", "10"},       {"options", "[\"a\",\"b\"]"}, {"min_selected", "1"},     {"max_selected", "2"},
  };
  const std::map<std::string, std::set<std::string>> allowed = {
      {"text", {"min_length", "max_length", "pattern"}},
      {"integer", {"min", "max"}},
      {"number", {"min", "max"}},
      {"boolean", {}},
      {"choice", {"options"}},
      {"multi_choice", {"options", "min_selected", "max_selected"}},
      {"date", {}},
      {"datetime", {}},
      {"email", {}},
      {"phone", {}},
      {"geopoint", {}},
  };
  for (const auto& name : all_type_names) {
    for (const auto& [constraint, value] : constraints) {
      json::object o = json::parse(minimal(name)).as_object();
      o[constraint] = json::parse(value);
      Parsed p = parse(json::serialize(o));
      bool ok = allowed.at(name).count(constraint) > 0;
      if (ok) {
        EXPECT_TRUE(p.question.has_value()) << name << " + " << constraint << " -> " << describe(p.errors);
        EXPECT_TRUE(p.errors.empty()) << name << " + " << constraint << " -> " << describe(p.errors);
      } else {
        EXPECT_FALSE(p.question.has_value()) << name << " + " << constraint;
        const FieldError* e = find_field(p.errors, "q." + constraint);
        ASSERT_NE(e, nullptr) << name << " + " << constraint << " -> " << describe(p.errors);
        EXPECT_NE(e->message.find(name), std::string::npos) << e->message;
      }
    }
  }
}

TEST(QuestionParse, TextConstraints) {
  Question q = make(R"({"key":"k","type":"text","min_length":2,"max_length":8,"pattern":"[a-z]+"})");
  EXPECT_EQ(q.min_length, std::optional<std::int64_t>(2));
  EXPECT_EQ(q.max_length, std::optional<std::int64_t>(8));
  EXPECT_EQ(q.pattern, "[a-z]+");
  EXPECT_NE(q.compiled_pattern, nullptr);

  Question same = make(R"({"key":"k","type":"text","min_length":3,"max_length":3})");
  EXPECT_EQ(same.min_length, same.max_length);
  make(R"({"key":"k","type":"text","min_length":0,"max_length":100000})");
  make(R"({"key":"k","type":"text","min_length":null,"max_length":null,"pattern":null})");

  expect_refused(R"({"key":"k","type":"text","min_length":5,"max_length":4})", "q.min_length");
  expect_refused(R"({"key":"k","type":"text","min_length":-1})", "q.min_length");
  expect_refused(R"({"key":"k","type":"text","min_length":1.5})", "q.min_length");
  expect_refused(R"({"key":"k","type":"text","min_length":"3"})", "q.min_length");
  expect_refused(R"({"key":"k","type":"text","max_length":100001})", "q.max_length");
  expect_refused(R"({"key":"k","type":"text","max_length":true})", "q.max_length");
}

TEST(QuestionParse, PatternMustBeValidRe2) {
  for (std::string_view pattern : {"(", "[a-", "a{2,1}", "(a)\\\\1" /* back-reference: not RE2 */, "(?<=a)b"}) {
    std::string text = R"({"key":"k","type":"text","pattern":")" + std::string(pattern) + R"("})";
    Parsed p = parse(text);
    EXPECT_FALSE(p.question.has_value()) << text;
    const FieldError* e = find_field(p.errors, "q.pattern");
    ASSERT_NE(e, nullptr) << text << " -> " << describe(p.errors);
    EXPECT_NE(e->message.find("RE2"), std::string::npos) << e->message;
  }
  expect_refused(R"({"key":"k","type":"text","pattern":5})", "q.pattern");
  expect_refused(R"({"key":"k","type":"text","pattern":")" + std::string(1001, 'a') + R"("})", "q.pattern");
  make(R"({"key":"k","type":"text","pattern":")" + std::string(1000, 'a') + R"("})");
}

TEST(QuestionParse, NumericBounds) {
  Question i = make(R"({"key":"k","type":"integer","min":-5,"max":5})");
  EXPECT_EQ(i.min, std::optional<double>(-5));
  EXPECT_EQ(i.max, std::optional<double>(5));
  Question n = make(R"({"key":"k","type":"number","min":-0.5,"max":2.25})");
  EXPECT_EQ(n.min, std::optional<double>(-0.5));
  EXPECT_EQ(n.max, std::optional<double>(2.25));
  make(R"({"key":"k","type":"integer","min":3,"max":3})");
  make(R"({"key":"k","type":"integer","min":3.0})");  // integral, though written as a double

  expect_refused(R"({"key":"k","type":"integer","min":2.5})", "q.min");
  expect_refused(R"({"key":"k","type":"integer","max":-0.1})", "q.max");
  expect_refused(R"({"key":"k","type":"integer","min":6,"max":5})", "q.min");
  expect_refused(R"({"key":"k","type":"number","min":0.6,"max":0.5})", "q.min");
  expect_refused(R"({"key":"k","type":"number","min":"1"})", "q.min");
  expect_refused(R"({"key":"k","type":"number","max":[1]})", "q.max");
}

TEST(QuestionParse, ChoiceOptions) {
  Question q = make(R"({"key":"k","type":"choice","options":["red","green","blue"]})");
  EXPECT_EQ(q.options, (std::vector<std::string>{"red", "green", "blue"}));

  expect_refused(R"({"key":"k","type":"choice"})", "q.options");
  expect_refused(R"({"key":"k","type":"choice","options":[]})", "q.options");
  expect_refused(R"({"key":"k","type":"choice","options":"red"})", "q.options");
  expect_refused(R"({"key":"k","type":"choice","options":null})", "q.options");
  expect_refused(R"({"key":"k","type":"multi_choice"})", "q.options");
  expect_refused(R"({"key":"k","type":"choice","options":["red",3]})", "q.options[1]");
  expect_refused(R"({"key":"k","type":"choice","options":["red",""]})", "q.options[1]");
  expect_refused(R"({"key":"k","type":"choice","options":[")" + std::string(501, 'o') + R"("]})", "q.options[0]");
  make(R"({"key":"k","type":"choice","options":[")" + std::string(500, 'o') + R"("]})");

  // A duplicate names the later one, not the first.
  Parsed dup = parse(R"({"key":"k","type":"multi_choice","options":["a","b","a"]})");
  EXPECT_FALSE(dup.question.has_value());
  ASSERT_EQ(dup.errors.size(), 1u) << describe(dup.errors);
  EXPECT_EQ(dup.errors[0].field, "q.options[2]");

  // Options are case-sensitive: "A" and "a" are distinct.
  make(R"({"key":"k","type":"choice","options":["a","A"]})");

  json::array many;
  for (int i = 0; i < 1001; ++i) many.push_back(json::string("o" + std::to_string(i)));
  json::object o{{"key", "k"}, {"type", "choice"}, {"options", many}};
  expect_refused(json::serialize(o), "q.options");
  many.pop_back();
  o["options"] = many;
  make(json::serialize(o));
}

TEST(QuestionParse, MultiChoiceSelectionBounds) {
  Question q = make(R"({"key":"k","type":"multi_choice","options":["a","b","c"],"min_selected":1,"max_selected":2})");
  EXPECT_EQ(q.min_selected, std::optional<std::int64_t>(1));
  EXPECT_EQ(q.max_selected, std::optional<std::int64_t>(2));
  make(R"({"key":"k","type":"multi_choice","options":["a","b","c"],"min_selected":3,"max_selected":3})");

  expect_refused(R"({"key":"k","type":"multi_choice","options":["a","b","c"],"min_selected":3,"max_selected":2})",
                 "q.min_selected");
  expect_refused(R"({"key":"k","type":"multi_choice","options":["a","b"],"min_selected":3})", "q.min_selected");
  expect_refused(R"({"key":"k","type":"multi_choice","options":["a","b"],"min_selected":-1})", "q.min_selected");
  expect_refused(R"({"key":"k","type":"multi_choice","options":["a","b"],"max_selected":0.5})", "q.max_selected");
  expect_refused(R"({"key":"k","type":"choice","options":["a","b"],"max_selected":1})", "q.max_selected");
}

// ------------------------------------------------------------------- answers

TEST(QuestionAnswer, TextMustBeAString) {
  Question q = make(R"({"key":"name","type":"text"})");
  expect_accepts(q, R"("Ada")");
  expect_accepts(q, R"("")");
  expect_refuses(q, "3", "string");
  expect_refuses(q, "true");
  expect_refuses(q, R"(["Ada"])");
  expect_refuses(q, R"({"first":"Ada"})");
}

TEST(QuestionAnswer, TextLengthCountsCodePoints) {
  Question q = make(R"({"key":"name","type":"text","min_length":3,"max_length":3})");
  expect_accepts(q, R"("abc")");
  expect_accepts(q, "\"h\xC3\xA9\xC3\xA9\"");                                 // hé é: 5 bytes, 3 code points
  expect_accepts(q, "\"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\"");              // 日本語: 9 bytes
  expect_accepts(q, "\"\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\"");  // three emoji: 12 bytes
  expect_accepts(q, R"("\u00e9\u00e9\u00e9")");                               // escapes decoded before counting
  expect_refuses(q, R"("ab")", "at least 3");
  expect_refuses(q, "\"\xC3\xA9\xC3\xA9\"", "at least 3");  // 4 bytes but 2 code points
  expect_refuses(q, R"("abcd")", "at most 3");
  expect_refuses(q, "\"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9Ex\"", "at most 3");
}

TEST(QuestionAnswer, TextPatternMustMatchTheWholeAnswer) {
  Question q = make(R"({"key":"code","type":"text","pattern":"[0-9]{3}"})");
  expect_accepts(q, R"("123")");
  expect_refuses(q, R"("1234")", "pattern");  // a partial match is not enough
  expect_refuses(q, R"("a123")", "pattern");
  expect_refuses(q, R"("12")", "pattern");
  expect_refuses(q, R"("")", "pattern");

  Question anchored = make(R"({"key":"code","type":"text","pattern":"^a|b$"})");
  expect_accepts(anchored, R"("a")");
  expect_accepts(anchored, R"("b")");
  expect_refuses(anchored, R"("ab")");

  // RE2 works on UTF-8: '.' is one code point.
  Question dots = make(R"({"key":"code","type":"text","pattern":"..."})");
  expect_accepts(dots, "\"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\"");
  expect_refuses(dots, "\"\xE6\x97\xA5\xE6\x9C\xAC\"");

  // Length is checked with the pattern.
  Question both = make(R"({"key":"code","type":"text","pattern":"[a-z]*","max_length":2})");
  expect_accepts(both, R"("ab")");
  expect_refuses(both, R"("abc")", "at most 2");
  expect_refuses(both, R"("A")", "pattern");
}

TEST(QuestionAnswer, Integer) {
  Question q = make(R"({"key":"n","type":"integer"})");
  expect_accepts(q, "0");
  expect_accepts(q, "-42");
  expect_accepts(q, "9007199254740992");
  expect_refuses(q, "2.5", "integer");
  expect_refuses(q, "-0.001", "integer");
  expect_refuses(q, R"("5")", "integer");
  expect_refuses(q, "true", "integer");
  expect_refuses(q, "[5]", "integer");
  expect_refuses(q, "1e300", "integer");                 // beyond what a double holds exactly
  expect_refuses(q, "18446744073709551615", "integer");  // uint64 max

  Question bounded = make(R"({"key":"n","type":"integer","min":0,"max":10})");
  expect_accepts(bounded, "0");
  expect_accepts(bounded, "10");
  expect_refuses(bounded, "-1", "at least 0");
  expect_refuses(bounded, "11", "at most 10");
  expect_refuses(bounded, "5.5", "integer");
}

TEST(QuestionAnswer, Number) {
  Question q = make(R"({"key":"x","type":"number"})");
  expect_accepts(q, "2.5");
  expect_accepts(q, "-3");
  expect_accepts(q, "1e300");
  expect_accepts(q, "18446744073709551615");
  expect_refuses(q, R"("2.5")", "number");
  expect_refuses(q, "false", "number");
  expect_refuses(q, "{}", "number");

  Question bounded = make(R"({"key":"x","type":"number","min":-1.5,"max":1.5})");
  expect_accepts(bounded, "-1.5");
  expect_accepts(bounded, "1.5");
  expect_accepts(bounded, "0");
  expect_refuses(bounded, "1.50001", "at most 1.5");
  expect_refuses(bounded, "-2", "at least -1.5");
}

TEST(QuestionAnswer, Boolean) {
  Question q = make(R"({"key":"b","type":"boolean"})");
  expect_accepts(q, "true");
  expect_accepts(q, "false");
  expect_refuses(q, R"("true")");
  expect_refuses(q, "1");
  expect_refuses(q, "0");
  expect_refuses(q, "[]");
}

TEST(QuestionAnswer, Choice) {
  Question q = make(R"({"key":"c","type":"choice","options":["red","green","blue"]})");
  expect_accepts(q, R"("red")");
  expect_accepts(q, R"("blue")");
  expect_refuses(q, R"("Red")", "options");
  expect_refuses(q, R"("purple")", "options");
  expect_refuses(q, R"("")", "options");
  expect_refuses(q, R"(["red"])", "options");
  expect_refuses(q, "1", "options");
}

TEST(QuestionAnswer, MultiChoice) {
  Question q = make(R"({"key":"m","type":"multi_choice","options":["red","green","blue"]})");
  expect_accepts(q, "[]");
  expect_accepts(q, R"(["red"])");
  expect_accepts(q, R"(["blue","red"])");
  expect_accepts(q, R"(["red","green","blue"])");
  expect_refuses(q, R"(["purple"])", "'purple' is not one of the options");
  expect_refuses(q, R"(["red","Purple"])", "'Purple'");
  expect_refuses(q, R"(["red","red"])", "'red' is selected twice");
  expect_refuses(q, R"(["red",1])", "strings");
  expect_refuses(q, R"(["red",null])", "strings");
  expect_refuses(q, R"("red")", "array");
  expect_refuses(q, R"({"red":true})", "array");
}

TEST(QuestionAnswer, MultiChoiceSelectionCount) {
  Question q =
      make(R"({"key":"m","type":"multi_choice","options":["a","b","c","d"],"min_selected":2,"max_selected":3})");
  expect_accepts(q, R"(["a","b"])");
  expect_accepts(q, R"(["a","b","c"])");
  expect_refuses(q, "[]", "select at least 2");
  expect_refuses(q, R"(["a"])", "select at least 2");
  expect_refuses(q, R"(["a","b","c","d"])", "select at most 3");
}

TEST(QuestionAnswer, Date) {
  Question q = make(R"({"key":"d","type":"date"})");
  expect_accepts(q, R"("2024-02-29")");
  expect_accepts(q, R"("1999-12-31")");
  expect_refuses(q, R"("2023-02-29")", "YYYY-MM-DD");
  expect_refuses(q, R"("2024-13-01")");
  expect_refuses(q, R"("2024-02-29T00:00:00Z")");
  expect_refuses(q, R"("29/02/2024")");
  expect_refuses(q, R"("")");
  expect_refuses(q, "20240229");
}

TEST(QuestionAnswer, Datetime) {
  Question q = make(R"({"key":"t","type":"datetime"})");
  expect_accepts(q, R"("2024-05-01T09:30:00Z")");
  expect_accepts(q, R"("2024-05-01 09:30")");
  expect_accepts(q, R"("2021-01-01 09:15:27.243860")");
  expect_accepts(q, R"("2024-05-01T09:30:00+02:00")");
  expect_refuses(q, R"("2024-05-01")", "ISO 8601");
  expect_refuses(q, R"("2024-05-01T25:00:00Z")");
  expect_refuses(q, R"("yesterday")");
  expect_refuses(q, "1714555800");
}

TEST(QuestionAnswer, Email) {
  Question q = make(R"({"key":"e","type":"email"})");
  for (std::string_view ok :
       {R"("a@example.com")", R"("first.last+tag@sub.example.org")", R"("x@b.co")", R"("O'Brien@example.ie")"}) {
    expect_accepts(q, ok);
  }
  const std::string long_local = "\"" + std::string(65, 'a') + "@example.com\"";
  for (std::string_view bad : std::initializer_list<std::string_view>{
           R"("")",
           R"("plainaddress")",
           R"("@example.com")",
           R"("a@")",
           R"("a@b")",
           R"("a@bc")",
           R"("a@example.")",
           R"("a@.example.com")",
           R"("a@example..com")",
           R"("a@@example.com")",
           R"("a@b@example.com")",
           R"("a b@example.com")",
           R"("a@example.com ")",
           R"("<a@example.com>")",
           R"("a,b@example.com")",
           R"("a\"b@example.com")",
           std::string_view(long_local),
           "5",
       }) {
    expect_refuses(q, bad, "email");
  }
  expect_accepts(q, "\"" + std::string(64, 'a') + "@example.com\"");
}

TEST(QuestionAnswer, PhoneIsE164) {
  Question q = make(R"({"key":"p","type":"phone"})");
  for (std::string_view ok : {R"("+14155552671")", R"("+442071838750")", R"("+123456789012345")", R"("+4930123456")"}) {
    expect_accepts(q, ok);
  }
  for (std::string_view bad : {
           R"("14155552671")",        // no +
           R"("+04155552671")",       // country code cannot start with 0
           R"("+1 415 555 2671")",    // spaces
           R"("+1-415-555-2671")",    // dashes
           R"("+1234567890123456")",  // 16 digits
           R"("+")",
           R"("+1")",
           R"("")",
           R"("+1415555267x")",
           "14155552671",
       }) {
    expect_refuses(q, bad, "E.164");
  }
}

TEST(QuestionAnswer, Geopoint) {
  Question q = make(R"({"key":"g","type":"geopoint"})");
  expect_accepts(q, R"({"lat":52.52,"lon":13.405})");
  expect_accepts(q, R"({"lon":13.405,"lat":52.52})");
  expect_accepts(q, R"({"lat":0,"lon":0})");
  expect_accepts(q, R"({"lat":-90,"lon":-180})");
  expect_accepts(q, R"({"lat":90,"lon":180})");
  expect_refuses(q, R"({"lat":90.0001,"lon":0})", "lat");
  expect_refuses(q, R"({"lat":-91,"lon":0})", "lat");
  expect_refuses(q, R"({"lat":0,"lon":180.5})", "lon");
  expect_refuses(q, R"({"lat":0,"lon":-181})", "lon");
  expect_refuses(q, R"({"lat":"52.5","lon":13})", "lat");
  expect_refuses(q, R"({"lat":52,"lon":null})", "lon");
  expect_refuses(q, R"({"lat":52})", "exactly lat and lon");
  expect_refuses(q, R"({"lat":52,"lon":13,"alt":30})", "exactly lat and lon");
  expect_refuses(q, R"({"lat":52,"lng":13})", "exactly lat and lon");
  expect_refuses(q, R"({})", "exactly lat and lon");
  expect_refuses(q, "[52.52,13.405]");
  expect_refuses(q, R"("52.52,13.405")");
}

// ------------------------------------------------------------------- to_json

TEST(QuestionToJson, WritesTheDefinition) {
  Question q = make(R"({"key":"age","type":"integer","label":"Age","required":true,"min":0,"max":120,
                        "metadata":{"hint":"years"}})");
  json::object o = q.to_json();
  EXPECT_EQ(o.at("key"), "age");
  EXPECT_EQ(o.at("type"), "integer");
  EXPECT_EQ(o.at("label"), "Age");
  EXPECT_EQ(o.at("required"), true);
  EXPECT_EQ(o.at("metadata"), json::parse(R"({"hint":"years"})"));
  ASSERT_TRUE(o.at("min").is_int64());  // an integer question's bounds stay integers
  EXPECT_EQ(o.at("min").get_int64(), 0);
  EXPECT_EQ(o.at("max").get_int64(), 120);
  EXPECT_FALSE(o.contains("options"));
  EXPECT_FALSE(o.contains("pattern"));

  Question bare = make(R"({"key":"b","type":"boolean"})");
  json::object b = bare.to_json();
  EXPECT_EQ(b.at("required"), false);
  EXPECT_FALSE(b.contains("label"));
  EXPECT_FALSE(b.contains("metadata"));
  EXPECT_EQ(b.size(), 3u) << json::serialize(b);

  Question num = make(R"({"key":"x","type":"number","min":-0.5})");
  ASSERT_TRUE(num.to_json().at("min").is_double());
  EXPECT_EQ(num.to_json().at("min").get_double(), -0.5);
}

TEST(QuestionToJson, RoundTripsEveryType) {
  const std::vector<std::string> definitions = {
      R"({"key":"a","type":"text","label":"Name","required":true,"min_length":1,"max_length":80,
          "pattern":"[A-Za-z ]+","metadata":{"x":[1,2]}})",
      R"({"key":"b","type":"integer","min":-3,"max":99})",
      R"({"key":"c","type":"number","min":0.25,"max":1e6})",
      R"({"key":"d","type":"boolean","required":true})",
      R"({"key":"e","type":"choice","options":["x","y","z"]})",
      R"({"key":"f","type":"multi_choice","options":["x","y","z"],"min_selected":1,"max_selected":2})",
      R"({"key":"g","type":"date","label":"When"})",
      R"({"key":"h","type":"datetime"})",
      R"({"key":"i","type":"email"})",
      R"({"key":"j","type":"phone"})",
      R"({"key":"k","type":"geopoint","metadata":{}})",
  };
  for (const auto& text : definitions) {
    Question q = make(text);
    json::object first = q.to_json();
    Parsed again = parse(json::serialize(first));
    ASSERT_TRUE(again.question.has_value()) << json::serialize(first) << " -> " << describe(again.errors);
    const Question& r = *again.question;
    EXPECT_EQ(json::value(r.to_json()), json::value(first)) << text;
    EXPECT_EQ(r.key, q.key);
    EXPECT_EQ(r.type, q.type);
    EXPECT_EQ(r.label, q.label);
    EXPECT_EQ(r.required, q.required);
    EXPECT_EQ(r.metadata, q.metadata);
    EXPECT_EQ(r.min_length, q.min_length);
    EXPECT_EQ(r.max_length, q.max_length);
    EXPECT_EQ(r.pattern, q.pattern);
    EXPECT_EQ(r.compiled_pattern != nullptr, q.compiled_pattern != nullptr);
    EXPECT_EQ(r.min, q.min);
    EXPECT_EQ(r.max, q.max);
    EXPECT_EQ(r.options, q.options);
    EXPECT_EQ(r.min_selected, q.min_selected);
    EXPECT_EQ(r.max_selected, q.max_selected);
    // The input itself, re-serialised, is what to_json writes (all fields given).
    json::object input = json::parse(text).as_object();
    for (const auto& field : input) {
      ASSERT_TRUE(first.contains(field.key())) << text << " lost " << field.key();
    }
  }
}

// A definition that parses must mean the same thing once stored (to_json) and
// read back. An empty pattern (which would admit only the empty answer, and
// which to_json would drop) is refused up front.
TEST(QuestionParse, EmptyPatternIsRefused) { expect_refused(R"({"key":"k","type":"text","pattern":""})", "q.pattern"); }

// Integer bounds beyond what a double holds exactly (and what to_json can write
// as an int64) are refused; those at the limit round-trip unchanged.
TEST(QuestionParse, IntegerBoundsStayWithinTwoToThe53) {
  expect_refused(R"({"key":"k","type":"integer","max":1e19})", "q.max");
  expect_refused(R"({"key":"k","type":"integer","max":18446744073709551615})", "q.max");
  expect_refused(R"({"key":"k","type":"integer","min":-9007199254740994})", "q.min");
  expect_refused(R"({"key":"k","type":"integer","min":9007199254740994})", "q.min");

  Question q = make(R"({"key":"k","type":"integer","min":-9007199254740992,"max":9007199254740992})");
  json::object stored = q.to_json();
  ASSERT_TRUE(stored.at("max").is_int64());
  EXPECT_EQ(stored.at("max").get_int64(), 9007199254740992);
  EXPECT_EQ(stored.at("min").get_int64(), -9007199254740992);
  Question back = make(json::serialize(stored));
  EXPECT_EQ(back.min, q.min);
  EXPECT_EQ(back.max, q.max);
  expect_accepts(back, "5");

  // A number question has no such limit.
  Question n = make(R"({"key":"k","type":"number","max":1e19})");
  Question n_back = make(json::serialize(n.to_json()));
  EXPECT_EQ(n_back.max, std::optional<double>(1e19));
  expect_accepts(n_back, "5");
  expect_refuses(n_back, "2e19", "at most");
}

}  // namespace
