#include "domain/form.h"

#include <gtest/gtest.h>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "test_support.h"

namespace {

using daisy::test::describe;
using daisy::test::has_field;

using namespace daisy;
namespace json = boost::json;

using Parsed = std::variant<FormDefinition, std::vector<FieldError>>;

std::size_t count_field(const std::vector<FieldError>& errors, std::string_view field) {
  std::size_t n = 0;
  for (const auto& e : errors) n += e.field == field;
  return n;
}

json::object obj(std::string_view text) { return json::parse(text).as_object(); }

Parsed parse(std::string_view text) { return parse_form_definition(obj(text)); }

// A definition that must be valid.
FormDefinition make(std::string_view text) {
  Parsed p = parse(text);
  if (auto* errors = std::get_if<std::vector<FieldError>>(&p)) {
    ADD_FAILURE() << text << " -> " << describe(*errors);
    return {};
  }
  return std::get<FormDefinition>(std::move(p));
}

// The errors of a definition that must be refused.
std::vector<FieldError> refused(std::string_view text) {
  Parsed p = parse(text);
  if (std::holds_alternative<FormDefinition>(p)) {
    ADD_FAILURE() << text << " was accepted";
    return {};
  }
  return std::get<std::vector<FieldError>>(std::move(p));
}

void expect_refused(std::string_view text, std::string_view field) {
  auto errors = refused(text);
  EXPECT_TRUE(has_field(errors, field)) << text << " -> expected " << field << ", got " << describe(errors);
}

constexpr std::string_view survey = R"({
  "title": "Household survey",
  "description": "Annual",
  "metadata": {"team": "field"},
  "questions": [
    {"key": "name", "type": "text", "required": true, "max_length": 50},
    {"key": "age", "type": "integer", "min": 0, "max": 130},
    {"key": "income", "type": "number", "min": 0},
    {"key": "savings", "type": "number", "min": 0},
    {"key": "pets", "type": "multi_choice", "options": ["cat", "dog", "fish"]},
    {"key": "where", "type": "geopoint"},
    {"key": "consent", "type": "boolean", "required": true}
  ],
  "rules": [
    {"name": "savings_le_income", "check": "answers.savings <= answers.income", "message": "too rich",
     "on_fail": "reject"},
    {"name": "adult", "check": "answers.age >= 18", "message": "minor"}
  ]
})";

// ------------------------------------------------------------------- parsing

TEST(FormParse, MinimalDefinition) {
  FormDefinition def = make(R"({"title":"T","questions":[]})");
  EXPECT_EQ(def.title, "T");
  EXPECT_TRUE(def.description.empty());
  EXPECT_TRUE(def.metadata.is_null());
  EXPECT_TRUE(def.questions.empty());
  EXPECT_TRUE(def.rules.empty());
}

TEST(FormParse, FullDefinition) {
  FormDefinition def = make(survey);
  EXPECT_EQ(def.title, "Household survey");
  EXPECT_EQ(def.description, "Annual");
  EXPECT_EQ(def.metadata, json::parse(R"({"team":"field"})"));
  ASSERT_EQ(def.questions.size(), 7u);
  EXPECT_EQ(def.questions[0].key, "name");
  EXPECT_TRUE(def.questions[0].required);
  EXPECT_EQ(def.questions[4].type, QuestionType::multi_choice);
  ASSERT_EQ(def.rules.size(), 2u);
  EXPECT_EQ(def.rules[0].name, "savings_le_income");
  EXPECT_TRUE(def.rules[0].reject);
  EXPECT_EQ(def.rules[1].name, "adult");
  EXPECT_FALSE(def.rules[1].reject);

  ASSERT_NE(def.question("age"), nullptr);
  EXPECT_EQ(def.question("age")->type, QuestionType::integer);
  EXPECT_EQ(def.question("nope"), nullptr);
  EXPECT_EQ(def.question("Age"), nullptr);
}

TEST(FormParse, TitleIsRequired) {
  expect_refused(R"({"questions":[]})", "title");
  expect_refused(R"({"title":null,"questions":[]})", "title");
  expect_refused(R"({"title":"","questions":[]})", "title");
  expect_refused(R"({"title":7,"questions":[]})", "title");
  expect_refused(R"({"title":")" + std::string(501, 't') + R"(","questions":[]})", "title");
  make(R"({"title":")" + std::string(500, 't') + R"(","questions":[]})");
}

TEST(FormParse, QuestionsAreRequired) {
  auto errors = refused(R"({"title":"T"})");
  ASSERT_EQ(errors.size(), 1u) << describe(errors);
  EXPECT_EQ(errors[0].field, "questions");
  expect_refused(R"({"title":"T","questions":null})", "questions");
  expect_refused(R"({"title":"T","questions":{}})", "questions");
  expect_refused(R"({"title":"T","questions":"name"})", "questions");
}

TEST(FormParse, OptionalFieldsAreChecked) {
  expect_refused(R"({"title":"T","questions":[],"description":3})", "description");
  expect_refused(R"({"title":"T","questions":[],"description":")" + std::string(10001, 'd') + R"("})", "description");
  expect_refused(R"({"title":"T","questions":[],"metadata":[1]})", "metadata");
  expect_refused(R"({"title":"T","questions":[],"metadata":"m"})", "metadata");
  expect_refused(R"({"title":"T","questions":[],"rules":{}})", "rules");
  FormDefinition def = make(R"({"title":"T","questions":[],"description":null,"metadata":null,"rules":null})");
  EXPECT_TRUE(def.description.empty());
  EXPECT_TRUE(def.metadata.is_null());
  EXPECT_TRUE(def.rules.empty());
}

TEST(FormParse, UnknownFieldsAreRefused) {
  auto errors = refused(R"({"title":"T","questions":[],"colour":"red","version":2})");
  EXPECT_EQ(errors.size(), 2u) << describe(errors);
  EXPECT_TRUE(has_field(errors, "colour")) << describe(errors);
  EXPECT_TRUE(has_field(errors, "version")) << describe(errors);
}

TEST(FormParse, ReportsEveryErrorAtOnce) {
  auto errors = refused(R"({"questions":[{"key":"a","type":"text"},{"key":"b","type":"nope"}],
                            "rules":[{"name":"r"}],"extra":1})");
  EXPECT_TRUE(has_field(errors, "title")) << describe(errors);
  EXPECT_TRUE(has_field(errors, "questions[1].type")) << describe(errors);
  EXPECT_TRUE(has_field(errors, "rules[0].check")) << describe(errors);
  EXPECT_TRUE(has_field(errors, "rules[0].message")) << describe(errors);
  EXPECT_TRUE(has_field(errors, "extra")) << describe(errors);
}

TEST(FormParse, QuestionErrorsAreNamedByIndex) {
  auto errors = refused(R"({"title":"T","questions":[
      {"key":"a","type":"text"},
      {"key":"b","type":"integer","min":3,"max":1},
      {"key":"c","type":"choice"}]})");
  EXPECT_EQ(errors.size(), 2u) << describe(errors);
  EXPECT_TRUE(has_field(errors, "questions[1].min")) << describe(errors);
  EXPECT_TRUE(has_field(errors, "questions[2].options")) << describe(errors);
}

TEST(FormParse, DuplicateQuestionKeys) {
  auto errors = refused(R"({"title":"T","questions":[
      {"key":"a","type":"text"},{"key":"b","type":"text"},{"key":"a","type":"integer"}]})");
  ASSERT_EQ(errors.size(), 1u) << describe(errors);
  EXPECT_EQ(errors[0].field, "questions[2].key");

  auto three = refused(R"({"title":"T","questions":[
      {"key":"a","type":"text"},{"key":"a","type":"text"},{"key":"a","type":"text"}]})");
  EXPECT_EQ(three.size(), 2u) << describe(three);
  EXPECT_TRUE(has_field(three, "questions[1].key")) << describe(three);
  EXPECT_TRUE(has_field(three, "questions[2].key")) << describe(three);
}

// The duplicate must be named by its index in the request, even when an
// earlier question was invalid (and so left out of the parsed list).
TEST(FormParse, DuplicateKeyIsNamedByItsIndexAfterAnInvalidQuestion) {
  auto errors = refused(R"({"title":"T","questions":[
      {"key":"x","type":"nope"},{"key":"a","type":"text"},{"key":"a","type":"text"}]})");
  EXPECT_TRUE(has_field(errors, "questions[0].type")) << describe(errors);
  EXPECT_TRUE(has_field(errors, "questions[2].key")) << describe(errors);
  EXPECT_FALSE(has_field(errors, "questions[1].key")) << describe(errors);
}

TEST(FormParse, CheckQuestionsDirectly) {
  FormDefinition def = make(R"({"title":"T","questions":[{"key":"a","type":"text"},{"key":"b","type":"date"}]})");
  std::vector<FieldError> errors;
  check_questions(def.questions, errors);
  EXPECT_TRUE(errors.empty()) << describe(errors);
  def.questions.push_back(def.questions[0]);
  check_questions(def.questions, errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "questions[2].key");
}

TEST(FormParse, QuestionLimit) {
  json::array questions;
  for (int i = 0; i < 500; ++i) {
    questions.push_back(json::object{{"key", "q" + std::to_string(i)}, {"type", "boolean"}});
  }
  json::object body{{"title", "T"}, {"questions", questions}};
  EXPECT_TRUE(std::holds_alternative<FormDefinition>(parse_form_definition(body)));
  questions.push_back(json::object{{"key", "q500"}, {"type", "boolean"}});
  body["questions"] = questions;
  auto p = parse_form_definition(body);
  ASSERT_TRUE(std::holds_alternative<std::vector<FieldError>>(p));
  EXPECT_TRUE(has_field(std::get<std::vector<FieldError>>(p), "questions"));
}

TEST(FormParse, Rules) {
  expect_refused(R"({"title":"T","questions":[],"rules":[{"name":"r","check":"true"}]})", "rules[0].message");
  expect_refused(R"({"title":"T","questions":[],"rules":[3]})", "rules[0]");
  expect_refused(R"({"title":"T","questions":[],"rules":[
      {"name":"r","check":"true","message":"m"},
      {"name":"r","check":"false","message":"m"}]})",
                 "rules[1].name");
  auto dup = refused(R"({"title":"T","questions":[],"rules":[
      {"name":"r","check":"true","message":"m"},
      {"name":"s","check":"true","message":"m"},
      {"name":"r","check":"false","message":"m"}]})");
  ASSERT_EQ(dup.size(), 1u) << describe(dup);
  EXPECT_EQ(dup[0].field, "rules[2].name");

  json::array rules;
  for (int i = 0; i < 101; ++i) {
    rules.push_back(json::object{{"name", "r" + std::to_string(i)}, {"check", "true"}, {"message", "m"}});
  }
  json::object body{{"title", "T"}, {"questions", json::array()}, {"rules", rules}};
  auto p = parse_form_definition(body);
  ASSERT_TRUE(std::holds_alternative<std::vector<FieldError>>(p));
  EXPECT_TRUE(has_field(std::get<std::vector<FieldError>>(p), "rules"));
  rules.pop_back();
  body["rules"] = rules;
  auto ok = parse_form_definition(body);
  ASSERT_TRUE(std::holds_alternative<FormDefinition>(ok));
  EXPECT_EQ(std::get<FormDefinition>(ok).rules.size(), 100u);
}

// ------------------------------------------------------------------- patching

struct Patched {
  Parsed result;
  bool changed;
};

Patched patch(const FormDefinition& current, std::string_view text) {
  bool changed = true;  // must be reset by the call
  Parsed result = patch_form_definition(current, obj(text), changed);
  return {std::move(result), changed};
}

const FormDefinition& ok(const Patched& p) {
  if (auto* errors = std::get_if<std::vector<FieldError>>(&p.result)) {
    ADD_FAILURE() << "patch refused: " << describe(*errors);
    static const FormDefinition empty;
    return empty;
  }
  return std::get<FormDefinition>(p.result);
}

// The questions of the survey, as the client sent them.
std::string survey_questions() { return json::serialize(obj(survey).at("questions")); }
std::string survey_rules() { return json::serialize(obj(survey).at("rules")); }

TEST(FormPatch, EmptyPatchChangesNothing) {
  FormDefinition current = make(survey);
  Patched p = patch(current, "{}");
  EXPECT_FALSE(p.changed);
  EXPECT_EQ(json::value(ok(p).to_json()), json::value(current.to_json()));
}

TEST(FormPatch, TitleChangeIsNotANewVersion) {
  FormDefinition current = make(survey);
  Patched p = patch(current, R"({"title":"Renamed"})");
  EXPECT_FALSE(p.changed);
  EXPECT_EQ(ok(p).title, "Renamed");
  EXPECT_EQ(ok(p).description, "Annual");
  EXPECT_EQ(ok(p).questions.size(), 7u);
  EXPECT_EQ(ok(p).rules.size(), 2u);
}

TEST(FormPatch, DescriptionAndMetadataChangeIsNotANewVersion) {
  FormDefinition current = make(survey);
  Patched p = patch(current, R"({"description":"Biannual","metadata":{"team":"office"}})");
  EXPECT_FALSE(p.changed);
  EXPECT_EQ(ok(p).description, "Biannual");
  EXPECT_EQ(ok(p).metadata, json::parse(R"({"team":"office"})"));
  EXPECT_EQ(ok(p).title, "Household survey");

  Patched cleared = patch(current, R"({"description":null,"metadata":null})");
  EXPECT_FALSE(cleared.changed);
  EXPECT_TRUE(ok(cleared).description.empty());
  EXPECT_TRUE(ok(cleared).metadata.is_null());
}

TEST(FormPatch, QuestionsChangeIsANewVersion) {
  FormDefinition current = make(survey);
  Patched added = patch(current, R"({"questions":[{"key":"name","type":"text","required":true,"max_length":50}]})");
  EXPECT_TRUE(added.changed);
  ASSERT_EQ(ok(added).questions.size(), 1u);
  EXPECT_EQ(ok(added).title, "Household survey");
  EXPECT_EQ(ok(added).rules.size(), 2u);

  // A single constraint changed.
  json::object body{{"questions", obj(survey).at("questions")}};
  body["questions"].as_array()[0].as_object()["max_length"] = 51;
  bool changed = false;
  Parsed p = patch_form_definition(current, body, changed);
  ASSERT_TRUE(std::holds_alternative<FormDefinition>(p));
  EXPECT_TRUE(changed);
  EXPECT_EQ(std::get<FormDefinition>(p).questions[0].max_length, std::optional<std::int64_t>(51));
}

TEST(FormPatch, IdenticalQuestionsAreNotANewVersion) {
  FormDefinition current = make(survey);
  Patched p = patch(current, R"({"questions":)" + survey_questions() + "}");
  EXPECT_FALSE(p.changed);
  EXPECT_EQ(ok(p).questions.size(), 7u);

  Patched r = patch(current, R"({"rules":)" + survey_rules() + "}");
  EXPECT_FALSE(r.changed);
}

// A client that sends the whole definition with only a new title must not
// cause a new version: the questions and rules are the same.
TEST(FormPatch, TitleChangeWithIdenticalQuestionsIsNotANewVersion) {
  FormDefinition current = make(survey);
  Patched p =
      patch(current, R"({"title":"Renamed","questions":)" + survey_questions() + R"(,"rules":)" + survey_rules() + "}");
  EXPECT_EQ(ok(p).title, "Renamed");
  EXPECT_FALSE(p.changed);
}

TEST(FormPatch, RulesChangeIsANewVersion) {
  FormDefinition current = make(survey);
  Patched p = patch(current, R"({"rules":[{"name":"adult","check":"answers.age >= 21","message":"minor"}]})");
  EXPECT_TRUE(p.changed);
  ASSERT_EQ(ok(p).rules.size(), 1u);
  EXPECT_EQ(ok(p).rules[0].check, "answers.age >= 21");

  Patched flag = patch(current, R"({"rules":[
      {"name":"savings_le_income","check":"answers.savings <= answers.income","message":"too rich"},
      {"name":"adult","check":"answers.age >= 18","message":"minor"}]})");  // reject -> flag
  EXPECT_TRUE(flag.changed);

  Patched cleared = patch(current, R"({"rules":null})");
  EXPECT_TRUE(cleared.changed);
  EXPECT_TRUE(ok(cleared).rules.empty());

  FormDefinition no_rules = make(R"({"title":"T","questions":[]})");
  Patched still_none = patch(no_rules, R"({"rules":null})");
  EXPECT_FALSE(still_none.changed);
  Patched empty = patch(no_rules, R"({"rules":[]})");
  EXPECT_FALSE(empty.changed);
}

TEST(FormPatch, ErrorsAreReported) {
  FormDefinition current = make(survey);
  for (auto [text, field] : std::vector<std::pair<std::string_view, std::string_view>>{
           {R"({"title":""})", "title"},
           {R"({"title":null})", "title"},
           {R"({"description":1})", "description"},
           {R"({"metadata":true})", "metadata"},
           {R"({"questions":null})", "questions"},
           {R"({"questions":[{"key":"a","type":"text"},{"key":"a","type":"text"}]})", "questions[1].key"},
           {R"({"questions":[{"key":"a","type":"bad"}]})", "questions[0].type"},
           {R"({"rules":[{"name":"r","check":"true","message":"m","on_fail":"drop"}]})", "rules[0].on_fail"},
           {R"({"id":"f_1"})", "id"},
       }) {
    Patched p = patch(current, text);
    ASSERT_TRUE(std::holds_alternative<std::vector<FieldError>>(p.result)) << text;
    const auto& errors = std::get<std::vector<FieldError>>(p.result);
    EXPECT_TRUE(has_field(errors, field)) << text << " -> " << describe(errors);
  }
}

TEST(FormPatch, DoesNotModifyTheCurrentDefinition) {
  FormDefinition current = make(survey);
  json::value before = current.to_json();
  Patched p = patch(current, R"({"title":"X","questions":[],"rules":null})");
  EXPECT_TRUE(p.changed);
  EXPECT_EQ(json::value(current.to_json()), before);
}

// ------------------------------------------------------------------- answers

TEST(FormAnswers, ValidAnswersHaveNoErrors) {
  FormDefinition def = make(survey);
  auto errors = check_answers(def, obj(R"({"name":"Ada","age":36,"income":100.5,"savings":3,
                                           "pets":["cat"],"where":{"lat":1,"lon":2},"consent":true})"));
  EXPECT_TRUE(errors.empty()) << describe(errors);
  // Only the required ones.
  errors = check_answers(def, obj(R"({"name":"Ada","consent":false})"));
  EXPECT_TRUE(errors.empty()) << describe(errors);
}

TEST(FormAnswers, UnknownKeys) {
  FormDefinition def = make(survey);
  auto errors = check_answers(def, obj(R"({"name":"Ada","consent":true,"shoe_size":44,"Name":"x"})"));
  ASSERT_EQ(errors.size(), 2u) << describe(errors);
  EXPECT_TRUE(has_field(errors, "shoe_size"));
  EXPECT_TRUE(has_field(errors, "Name"));
}

TEST(FormAnswers, RequiredAnswersMissing) {
  FormDefinition def = make(survey);
  auto errors = check_answers(def, obj("{}"));
  ASSERT_EQ(errors.size(), 2u) << describe(errors);
  EXPECT_EQ(errors[0].field, "name");
  EXPECT_EQ(errors[1].field, "consent");
  EXPECT_NE(errors[0].message.find("required"), std::string::npos) << errors[0].message;
}

TEST(FormAnswers, NullCountsAsAbsent) {
  FormDefinition def = make(survey);
  // An optional question answered with null is fine, whatever its type.
  auto errors = check_answers(def, obj(R"({"name":"Ada","consent":true,"age":null,"pets":null,"where":null})"));
  EXPECT_TRUE(errors.empty()) << describe(errors);
  // A required one answered with null is missing.
  errors = check_answers(def, obj(R"({"name":null,"consent":true})"));
  ASSERT_EQ(errors.size(), 1u) << describe(errors);
  EXPECT_EQ(errors[0].field, "name");
  EXPECT_NE(errors[0].message.find("required"), std::string::npos) << errors[0].message;
}

TEST(FormAnswers, OneErrorPerKey) {
  FormDefinition def = make(survey);
  auto errors = check_answers(def, obj(R"({"name":12,"age":2.5,"income":"lots","savings":-1,
                                           "pets":["cat","cat","bird"],"where":{"lat":100},
                                           "consent":"yes"})"));
  for (std::string_view key : {"name", "age", "income", "savings", "pets", "where", "consent"}) {
    EXPECT_EQ(count_field(errors, key), 1u) << key << ": " << describe(errors);
  }
  EXPECT_EQ(errors.size(), 7u) << describe(errors);
}

TEST(FormAnswers, ConstraintsAreChecked) {
  FormDefinition def = make(survey);
  auto errors = check_answers(def, obj(R"({"name":")" + std::string(51, 'n') + R"(","age":131,"consent":true})"));
  ASSERT_EQ(errors.size(), 2u) << describe(errors);
  EXPECT_TRUE(has_field(errors, "name"));
  EXPECT_TRUE(has_field(errors, "age"));
}

TEST(FormAnswers, EmptyFormAcceptsOnlyNoAnswers) {
  FormDefinition def = make(R"({"title":"T","questions":[]})");
  EXPECT_TRUE(check_answers(def, obj("{}")).empty());
  auto errors = check_answers(def, obj(R"({"a":1})"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "a");
}

// ------------------------------------------------------------------- JSON

TEST(FormJson, DefinitionRoundTrips) {
  FormDefinition def = make(survey);
  json::object written = def.to_json();
  EXPECT_EQ(written.at("title"), "Household survey");
  EXPECT_EQ(written.at("description"), "Annual");
  EXPECT_EQ(written.at("metadata"), json::parse(R"({"team":"field"})"));
  ASSERT_EQ(written.at("questions").as_array().size(), 7u);
  ASSERT_EQ(written.at("rules").as_array().size(), 2u);
  EXPECT_EQ(written.at("rules").as_array()[0].at("on_fail"), "reject");
  EXPECT_EQ(written.at("rules").as_array()[1].at("on_fail"), "flag");

  // Through text, as it is stored.
  auto back = definition_from_json(json::parse(json::serialize(written)));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(json::value(back->to_json()), json::value(written));
  EXPECT_EQ(back->title, def.title);
  EXPECT_EQ(back->description, def.description);
  ASSERT_EQ(back->questions.size(), def.questions.size());
  for (std::size_t i = 0; i < def.questions.size(); ++i) {
    EXPECT_EQ(back->questions[i].key, def.questions[i].key);
    EXPECT_EQ(back->questions[i].type, def.questions[i].type);
    EXPECT_EQ(back->questions[i].required, def.questions[i].required);
  }
  ASSERT_EQ(back->rules.size(), 2u);
  EXPECT_EQ(back->rules[0].check, def.rules[0].check);
  EXPECT_TRUE(back->rules[0].reject);
  EXPECT_FALSE(back->rules[1].reject);
}

TEST(FormJson, MinimalDefinitionRoundTrips) {
  FormDefinition def = make(R"({"title":"T","questions":[]})");
  json::object written = def.to_json();
  EXPECT_EQ(written.at("description"), "");
  EXPECT_EQ(written.at("metadata"), json::value(json::object()));  // written as {} when absent
  auto back = definition_from_json(written);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(json::value(back->to_json()), json::value(written));
}

TEST(FormJson, DefinitionFromJsonRefusesInvalidInput) {
  EXPECT_FALSE(definition_from_json(json::parse("[]")).has_value());
  EXPECT_FALSE(definition_from_json(json::parse("null")).has_value());
  EXPECT_FALSE(definition_from_json(json::parse(R"("form")")).has_value());
  EXPECT_FALSE(definition_from_json(json::parse(R"({"title":"T"})")).has_value());
  EXPECT_FALSE(
      definition_from_json(json::parse(R"({"title":"T","questions":[{"key":"A","type":"text"}]})")).has_value());
}

TEST(FormJson, FormToJson) {
  Form form;
  form.id = "f_123";
  form.version = 3;
  form.created_at = "2024-01-01T00:00:00.000Z";
  form.updated_at = "2024-02-01T00:00:00.000Z";
  form.definition = make(survey);
  EXPECT_FALSE(form.archived());
  json::object o = form.to_json();
  EXPECT_EQ(o.at("id"), "f_123");
  EXPECT_EQ(o.at("version"), 3);
  EXPECT_EQ(o.at("status"), "active");
  EXPECT_EQ(o.at("created_at"), "2024-01-01T00:00:00.000Z");
  EXPECT_EQ(o.at("updated_at"), "2024-02-01T00:00:00.000Z");
  EXPECT_TRUE(o.at("archived_at").is_null());
  EXPECT_EQ(o.at("title"), "Household survey");
  EXPECT_EQ(o.at("questions").as_array().size(), 7u);

  form.archived_at = "2024-03-01T00:00:00.000Z";
  EXPECT_TRUE(form.archived());
  o = form.to_json();
  EXPECT_EQ(o.at("status"), "archived");
  EXPECT_EQ(o.at("archived_at"), "2024-03-01T00:00:00.000Z");
}

}  // namespace
