#include "script/rule_engine.h"

#include <gtest/gtest.h>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "domain/rule.h"

#include "test_support.h"

namespace {

using daisy::test::describe;
using daisy::test::has_field;

using namespace daisy;
namespace json = boost::json;

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

json::object obj(std::string_view text) { return json::parse(text).as_object(); }

Rule rule(std::string name, std::string check, std::string message = "failed", bool reject = false) {
  Rule r;
  r.name = std::move(name);
  r.check = std::move(check);
  r.message = std::move(message);
  r.reject = reject;
  return r;
}

std::shared_ptr<RuleSet> compile_ok(const std::vector<Rule>& rules, RuleLimits limits = {}) {
  auto compiled = RuleSet::compile(rules, limits);
  if (auto* errors = std::get_if<std::vector<FieldError>>(&compiled)) {
    ADD_FAILURE() << "does not compile: " << describe(*errors);
    return nullptr;
  }
  return std::get<std::shared_ptr<RuleSet>>(compiled);
}

std::vector<FieldError> compile_errors(const std::vector<Rule>& rules) {
  auto compiled = RuleSet::compile(rules);
  if (std::holds_alternative<std::shared_ptr<RuleSet>>(compiled)) {
    ADD_FAILURE() << "compiled, though it should not";
    return {};
  }
  return std::get<std::vector<FieldError>>(compiled);
}

// Evaluates a single check against the answers.
RuleOutcome evaluate_one(const std::string& check, std::string_view answers, RuleLimits limits = {}) {
  auto set = compile_ok({rule("r", check, "msg")}, limits);
  if (!set) return {};
  auto outcomes = set->evaluate(obj(answers));
  if (outcomes.size() != 1) {
    ADD_FAILURE() << "expected one outcome, got " << outcomes.size();
    return {};
  }
  return outcomes[0];
}

// ------------------------------------------------------------------- parse_rule

struct ParsedRule {
  std::optional<Rule> rule;
  std::vector<FieldError> errors;
};

ParsedRule parse(std::string_view text) {
  ParsedRule p;
  p.rule = parse_rule(json::parse(text), "rules[0]", p.errors);
  return p;
}

void expect_rule_refused(std::string_view text, std::string_view field) {
  ParsedRule p = parse(text);
  EXPECT_FALSE(p.rule.has_value()) << text;
  EXPECT_TRUE(has_field(p.errors, field)) << text << " -> expected " << field << ", got " << describe(p.errors);
}

TEST(RuleParse, ValidRule) {
  ParsedRule p = parse(R"({"name":"adult","check":"answers.age >= 18","message":"must be an adult"})");
  ASSERT_TRUE(p.rule.has_value()) << describe(p.errors);
  EXPECT_TRUE(p.errors.empty());
  EXPECT_EQ(p.rule->name, "adult");
  EXPECT_EQ(p.rule->check, "answers.age >= 18");
  EXPECT_EQ(p.rule->message, "must be an adult");
  EXPECT_FALSE(p.rule->reject);  // flag by default
}

TEST(RuleParse, OnFail) {
  ParsedRule reject = parse(R"({"name":"r","check":"true","message":"m","on_fail":"reject"})");
  ASSERT_TRUE(reject.rule.has_value()) << describe(reject.errors);
  EXPECT_TRUE(reject.rule->reject);
  ParsedRule flag = parse(R"({"name":"r","check":"true","message":"m","on_fail":"flag"})");
  ASSERT_TRUE(flag.rule.has_value()) << describe(flag.errors);
  EXPECT_FALSE(flag.rule->reject);
  ParsedRule null = parse(R"({"name":"r","check":"true","message":"m","on_fail":null})");
  ASSERT_TRUE(null.rule.has_value()) << describe(null.errors);
  EXPECT_FALSE(null.rule->reject);

  for (std::string_view bad : {R"("drop")", R"("Reject")", R"("")", "true", "1", "[]", R"({"x":1})"}) {
    expect_rule_refused(R"({"name":"r","check":"true","message":"m","on_fail":)" + std::string(bad) + "}",
                        "rules[0].on_fail");
  }
}

TEST(RuleParse, RequiredFields) {
  expect_rule_refused(R"({"check":"true","message":"m"})", "rules[0].name");
  expect_rule_refused(R"({"name":"r","message":"m"})", "rules[0].check");
  expect_rule_refused(R"({"name":"r","check":"true"})", "rules[0].message");
  expect_rule_refused(R"({"name":null,"check":"true","message":"m"})", "rules[0].name");
  expect_rule_refused(R"({"name":"","check":"true","message":"m"})", "rules[0].name");
  expect_rule_refused(R"({"name":"r","check":"","message":"m"})", "rules[0].check");
  expect_rule_refused(R"({"name":"r","check":"true","message":""})", "rules[0].message");
  expect_rule_refused(R"({"name":1,"check":"true","message":"m"})", "rules[0].name");
  expect_rule_refused(R"({"name":"r","check":true,"message":"m"})", "rules[0].check");
  expect_rule_refused(R"({"name":"r","check":"true","message":["m"]})", "rules[0].message");

  ParsedRule all = parse("{}");
  EXPECT_FALSE(all.rule.has_value());
  EXPECT_EQ(all.errors.size(), 3u) << describe(all.errors);
}

TEST(RuleParse, Lengths) {
  const std::string check4000 = "true" + std::string(3996, ' ');
  ParsedRule ok = parse(R"({"name":")" + std::string(1000, 'n') + R"(","check":")" + check4000 + R"(","message":")" +
                        std::string(1000, 'm') + R"("})");
  EXPECT_TRUE(ok.rule.has_value()) << describe(ok.errors);
  expect_rule_refused(R"({"name":")" + std::string(1001, 'n') + R"(","check":"true","message":"m"})", "rules[0].name");
  expect_rule_refused(R"({"name":"r","check":")" + check4000 + R"( ","message":"m"})", "rules[0].check");
  expect_rule_refused(R"({"name":"r","check":"true","message":")" + std::string(1001, 'm') + R"("})",
                      "rules[0].message");
}

TEST(RuleParse, UnknownFieldsAndShape) {
  expect_rule_refused(R"({"name":"r","check":"true","message":"m","severity":"high"})", "rules[0].severity");
  ParsedRule p = parse("[1]");
  EXPECT_FALSE(p.rule.has_value());
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0].field, "rules[0]");
}

TEST(RuleParse, ToJson) {
  Rule r = rule("adult", "answers.age >= 18", "minor", true);
  json::object o = r.to_json();
  EXPECT_EQ(o.at("name"), "adult");
  EXPECT_EQ(o.at("check"), "answers.age >= 18");
  EXPECT_EQ(o.at("message"), "minor");
  EXPECT_EQ(o.at("on_fail"), "reject");
  EXPECT_EQ(o.size(), 4u);
  r.reject = false;
  EXPECT_EQ(r.to_json().at("on_fail"), "flag");

  std::vector<FieldError> errors;
  auto back = parse_rule(json::value(r.to_json()), "rules[0]", errors);
  ASSERT_TRUE(back.has_value()) << describe(errors);
  EXPECT_EQ(back->name, r.name);
  EXPECT_EQ(back->check, r.check);
  EXPECT_EQ(back->message, r.message);
  EXPECT_EQ(back->reject, r.reject);
}

// ------------------------------------------------------------------- compile

TEST(RuleCompile, ValidRulesCompile) {
  auto set = compile_ok({rule("a", "answers.x == 1"), rule("b", "true"), rule("c", "#answers.tags > 0 -- comment")});
  ASSERT_NE(set, nullptr);
  ASSERT_EQ(set->rules().size(), 3u);
  EXPECT_EQ(set->rules()[1].name, "b");

  auto empty = compile_ok({});
  ASSERT_NE(empty, nullptr);
  EXPECT_TRUE(empty->evaluate(obj(R"({"x":1})")).empty());
}

TEST(RuleCompile, SyntaxErrorsNameTheRule) {
  auto errors = compile_errors({rule("a", "true"), rule("b", "answers.x =="), rule("c", "1 +* 2")});
  ASSERT_EQ(errors.size(), 2u) << describe(errors);
  EXPECT_EQ(errors[0].field, "rules[1].check");
  EXPECT_EQ(errors[1].field, "rules[2].check");
  EXPECT_TRUE(contains(errors[0].message, "Lua")) << errors[0].message;
}

TEST(RuleCompile, StatementsAreNotExpressions) {
  for (std::string check : {"x = 1", "local y = 2", "return true", "if true then end", "while true do end"}) {
    auto errors = compile_errors({rule("s", check)});
    ASSERT_EQ(errors.size(), 1u) << check << ": " << describe(errors);
    EXPECT_EQ(errors[0].field, "rules[0].check") << check;
  }
}

// ------------------------------------------------------------------- evaluate

TEST(RuleEvaluate, PassingAndFailingChecks) {
  auto set = compile_ok({
      rule("le", "answers.savings <= answers.income", "savings above income", true),
      rule("adult", "answers.age >= 18", "must be an adult"),
      rule("named", "answers.name == 'Ada'", "wrong name"),
  });
  ASSERT_NE(set, nullptr);

  auto outcomes = set->evaluate(obj(R"({"savings":10,"income":20.5,"age":17,"name":"Ada"})"));
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_EQ(outcomes[0].rule, "le");
  EXPECT_TRUE(outcomes[0].passed);
  EXPECT_TRUE(outcomes[0].message.empty()) << outcomes[0].message;
  EXPECT_TRUE(outcomes[0].reject);  // the rule's on_fail, whatever the outcome
  EXPECT_EQ(outcomes[1].rule, "adult");
  EXPECT_FALSE(outcomes[1].passed);
  EXPECT_EQ(outcomes[1].message, "must be an adult");
  EXPECT_FALSE(outcomes[1].reject);
  EXPECT_EQ(outcomes[2].rule, "named");
  EXPECT_TRUE(outcomes[2].passed);

  outcomes = set->evaluate(obj(R"({"savings":30,"income":20,"age":18,"name":"Bob"})"));
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_FALSE(outcomes[0].passed);
  EXPECT_EQ(outcomes[0].message, "savings above income");
  EXPECT_TRUE(outcomes[0].reject);
  EXPECT_TRUE(outcomes[1].passed);
  EXPECT_FALSE(outcomes[2].passed);
  EXPECT_EQ(outcomes[2].message, "wrong name");
}

TEST(RuleEvaluate, LuaTruthiness) {
  EXPECT_FALSE(evaluate_one("false", "{}").passed);
  EXPECT_FALSE(evaluate_one("nil", "{}").passed);
  EXPECT_FALSE(evaluate_one("answers.absent", "{}").passed);
  EXPECT_TRUE(evaluate_one("true", "{}").passed);
  EXPECT_TRUE(evaluate_one("0", "{}").passed);  // 0 is true in Lua
  EXPECT_TRUE(evaluate_one("''", "{}").passed);
}

TEST(RuleEvaluate, AnswerTypes) {
  const std::string_view answers =
      R"({"i":3,"f":2.5,"s":"h\u00e9","b":true,"n":null,"big":18446744073709551615,"neg":-7})";
  EXPECT_TRUE(evaluate_one("math.type(answers.i) == 'integer' and answers.i == 3", answers).passed);
  EXPECT_TRUE(evaluate_one("math.type(answers.f) == 'float' and answers.f == 2.5", answers).passed);
  EXPECT_TRUE(evaluate_one("answers.s == 'h\\u{e9}' and #answers.s == 3 and utf8.len(answers.s) == 2", answers).passed);
  EXPECT_TRUE(evaluate_one("answers.b == true", answers).passed);
  EXPECT_TRUE(evaluate_one("answers.n == nil", answers).passed);
  EXPECT_TRUE(evaluate_one("answers.big > 1e19", answers).passed);
  EXPECT_TRUE(evaluate_one("answers.neg == -7", answers).passed);
}

TEST(RuleEvaluate, NestedAnswers) {
  const std::string_view answers = R"({"pets":["cat","dog"],"where":{"lat":52.52,"lon":13.405},"none":[]})";
  EXPECT_TRUE(evaluate_one("answers.pets[1] == 'cat' and answers.pets[2] == 'dog'", answers).passed);
  EXPECT_TRUE(evaluate_one("#answers.pets == 2 and answers.pets[3] == nil", answers).passed);
  EXPECT_TRUE(evaluate_one("answers.pets[0] == nil", answers).passed);  // arrays are 1-based
  EXPECT_FALSE(evaluate_one("answers.pets[1] == 'dog'", answers).passed);
  EXPECT_TRUE(evaluate_one("answers.where.lat > 52 and answers.where.lon < 14", answers).passed);
  EXPECT_FALSE(evaluate_one("answers.where.lat < 0", answers).passed);
  EXPECT_TRUE(evaluate_one("#answers.none == 0", answers).passed);
  EXPECT_TRUE(evaluate_one("(function() for _, p in ipairs(answers.pets) do if p == 'dog' then return true end end "
                           "return false end)()",
                           answers)
                  .passed);
}

TEST(RuleEvaluate, PairsVisitsEveryAnswer) {
  const std::string_view answers = R"({"a":1,"b":2,"c":{"d":4}})";
  EXPECT_TRUE(evaluate_one("(function() local n, sum = 0, 0 for k, v in pairs(answers) do n = n + 1 "
                           "if type(v) == 'number' then sum = sum + v end end return n == 3 and sum == 3 end)()",
                           answers)
                  .passed);
  // Reading one answer first does not hide it from pairs, nor count it twice.
  EXPECT_TRUE(evaluate_one("(function() local x = answers.c.d local n = 0 for _ in pairs(answers) do n = n + 1 end "
                           "return x == 4 and n == 3 end)()",
                           answers)
                  .passed);
  EXPECT_TRUE(
      evaluate_one("(function() local n = 0 for _ in pairs(answers) do n = n + 1 end return n == 0 end)()", "{}")
          .passed);
}

TEST(RuleEvaluate, MissingAnswerFailsWithAReason) {
  auto set = compile_ok({
      rule("first", "true", "never"),
      rule("cmp", "answers.savings <= answers.income", "savings above income"),
      rule("last", "answers.income == nil", "never"),
  });
  ASSERT_NE(set, nullptr);
  auto outcomes = set->evaluate(obj(R"({"savings":3})"));
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_TRUE(outcomes[0].passed);
  EXPECT_FALSE(outcomes[1].passed);
  EXPECT_TRUE(contains(outcomes[1].message, "savings above income")) << outcomes[1].message;
  EXPECT_TRUE(contains(outcomes[1].message, "could not be evaluated")) << outcomes[1].message;
  EXPECT_TRUE(contains(outcomes[1].message, "compare")) << outcomes[1].message;
  EXPECT_TRUE(outcomes[2].passed);  // an error in one rule does not stop the others
}

TEST(RuleEvaluate, RuntimeErrorsFailWithTheirMessage) {
  RuleOutcome boom = evaluate_one("error('boom')", "{}");
  EXPECT_FALSE(boom.passed);
  EXPECT_TRUE(contains(boom.message, "boom")) << boom.message;
  EXPECT_TRUE(contains(boom.message, "msg")) << boom.message;

  RuleOutcome table = evaluate_one("error({})", "{}");
  EXPECT_FALSE(table.passed);
  EXPECT_TRUE(contains(table.message, "could not be evaluated")) << table.message;

  RuleOutcome index = evaluate_one("answers.where.lat > 0", "{}");
  EXPECT_FALSE(index.passed);
  EXPECT_TRUE(contains(index.message, "could not be evaluated")) << index.message;
}

// ------------------------------------------------------------------- sandbox

TEST(RuleSandbox, DangerousGlobalsAreNil) {
  EXPECT_TRUE(
      evaluate_one("os == nil and io == nil and load == nil and require == nil and string.dump == nil", "{}").passed);
  std::vector<Rule> rules;
  for (std::string name : {"os", "io", "require", "load", "loadstring", "dofile", "loadfile", "string.dump",
                           "collectgarbage", "print", "debug", "package", "coroutine"}) {
    rules.push_back(rule(name, name + " == nil", name + " is reachable"));
  }
  auto set = compile_ok(rules);
  ASSERT_NE(set, nullptr);
  auto outcomes = set->evaluate(obj("{}"));
  ASSERT_EQ(outcomes.size(), rules.size());
  for (const auto& o : outcomes) EXPECT_TRUE(o.passed) << o.rule << ": " << o.message;
}

TEST(RuleSandbox, UsingARemovedFunctionFails) {
  for (std::string check : {"os.execute('true')", "io.open('/etc/passwd')", "require('os')", "load('return 1')()",
                            "dofile('/dev/null')", "string.dump(print)", "collectgarbage('count') > 0", "print('x')"}) {
    RuleOutcome o = evaluate_one(check, "{}");
    EXPECT_FALSE(o.passed) << check;
    EXPECT_TRUE(contains(o.message, "could not be evaluated")) << check << ": " << o.message;
  }
}

// Lua patterns backtrack inside C, out of reach of the instruction budget.
TEST(RuleSandbox, PatternFunctionsAreAbsent) {
  EXPECT_TRUE(evaluate_one("string.find == nil and string.match == nil and string.gmatch == nil and "
                           "string.gsub == nil and ('x').find == nil",
                           "{}")
                  .passed);
}

TEST(RuleSandbox, LibrariesAreReadOnly) {
  RuleOutcome o = evaluate_one("(function() string.upper = string.lower return true end)()", "{}");
  EXPECT_FALSE(o.passed);
  EXPECT_TRUE(contains(o.message, "read-only")) << o.message;
  EXPECT_TRUE(evaluate_one("getmetatable('') == false and getmetatable(string) == false", "{}").passed);
}

TEST(RuleSandbox, SafeLibrariesAreAvailable) {
  EXPECT_TRUE(evaluate_one("math.floor(2.7) == 2 and math.max(1, 3) == 3", "{}").passed);
  EXPECT_TRUE(evaluate_one("string.upper('a') == 'A' and ('abc'):sub(2, 2) == 'b'", "{}").passed);
  EXPECT_TRUE(evaluate_one("('2024-05-01'):sub(1, 4) == '2024' and string.len('abc') == 3", "{}").passed);
  EXPECT_TRUE(evaluate_one("table.concat({'a', 'b'}, ',') == 'a,b'", "{}").passed);
  EXPECT_TRUE(evaluate_one("utf8.len('h\\u{e9}') == 2", "{}").passed);
  EXPECT_TRUE(evaluate_one("tostring(12) == '12' and tonumber('7') == 7 and type(answers) == 'table'", "{}").passed);
  EXPECT_TRUE(evaluate_one("select('#', pcall(error, 'x')) == 2", "{}").passed);
}

TEST(RuleSandbox, InfiniteLoopExhaustsTheInstructionBudget) {
  RuleLimits limits;
  limits.instruction_budget = 20'000;
  auto set = compile_ok(
      {rule("loop", "(function() while true do end end)()", "looped"),
       rule("after", "(function() local n = 0 for i = 1, 100 do n = n + i end return n end)() == 5050", "never")},
      limits);
  ASSERT_NE(set, nullptr);
  for (int round = 0; round < 3; ++round) {
    auto outcomes = set->evaluate(obj("{}"));
    ASSERT_EQ(outcomes.size(), 2u);
    EXPECT_FALSE(outcomes[0].passed);
    EXPECT_TRUE(contains(outcomes[0].message, "instruction budget")) << outcomes[0].message;
    EXPECT_TRUE(contains(outcomes[0].message, "looped")) << outcomes[0].message;
    EXPECT_TRUE(outcomes[1].passed) << outcomes[1].message;  // the budget is per rule
  }
}

TEST(RuleSandbox, RulesShareATotalBudget) {
  RuleLimits limits;
  limits.instruction_budget = 10'000;
  limits.total_budget = 25'000;
  const std::string loop = "(function() while true do end end)()";
  auto set =
      compile_ok({rule("a", loop, "a"), rule("b", loop, "b"), rule("c", loop, "c"), rule("d", "true", "d")}, limits);
  ASSERT_NE(set, nullptr);
  for (int round = 0; round < 2; ++round) {
    auto outcomes = set->evaluate(obj("{}"));
    ASSERT_EQ(outcomes.size(), 4u);
    for (int i = 0; i < 3; ++i) {
      EXPECT_FALSE(outcomes[i].passed);
      EXPECT_TRUE(contains(outcomes[i].message, "instruction budget")) << outcomes[i].message;
    }
    // Three rules that each spent more than 10 000 instructions exhausted the 25 000 of the submission.
    EXPECT_FALSE(outcomes[3].passed);
    EXPECT_TRUE(contains(outcomes[3].message, "shared instruction budget")) << outcomes[3].message;
  }
  // With a larger total, the last rule runs.
  limits.total_budget = 1'000'000;
  auto roomy =
      compile_ok({rule("a", loop, "a"), rule("b", loop, "b"), rule("c", loop, "c"), rule("d", "true", "d")}, limits);
  ASSERT_NE(roomy, nullptr);
  auto outcomes = roomy->evaluate(obj("{}"));
  ASSERT_EQ(outcomes.size(), 4u);
  EXPECT_TRUE(outcomes[3].passed) << outcomes[3].message;
}

TEST(RuleSandbox, WorkWithinTheBudgetCompletes) {
  RuleLimits limits;
  limits.instruction_budget = 1'000'000;
  RuleOutcome o = evaluate_one("(function() local n = 0 for i = 1, 10000 do n = n + i end return n end)() == 50005000",
                               "{}", limits);
  EXPECT_TRUE(o.passed) << o.message;
}

// A rule cannot dodge the instruction budget by catching the budget error with
// pcall: otherwise `while true do pcall(function() while true do end end) end`
// never ends. Here the outer loop is bounded (1000 catches, about 1000 times the
// budget) so that the test ends either way; the rule must still fail.
TEST(RuleSandbox, PcallCannotSwallowTheInstructionBudget) {
  RuleLimits limits;
  limits.instruction_budget = 10'000;
  limits.total_budget = 100'000'000;
  RuleOutcome o = evaluate_one(
      "(function() for i = 1, 1000 do pcall(function() while true do end end) end return true end)()", "{}", limits);
  EXPECT_FALSE(o.passed) << "the rule ran about 1000 times its instruction budget and passed";
  EXPECT_TRUE(contains(o.message, "instruction budget")) << o.message;
}

TEST(RuleSandbox, MemoryIsCapped) {
  RuleLimits limits;
  limits.memory_bytes = 1 << 20;
  limits.instruction_budget = 10'000'000;
  limits.total_budget = 100'000'000;  // memory, not instructions, must stop these rules
  auto set = compile_ok(
      {
          rule("rep", "#string.rep('x', 1e9) > 0", "rep"),
          rule("table", "(function() local t = {} for i = 1, 1e8 do t[i] = i end return true end)()", "table"),
          rule("concat", "(function() local s = 'x' while true do s = s .. s end end)()", "concat"),
          rule("ok", "answers.n == 1", "n is not 1"),
      },
      limits);
  ASSERT_NE(set, nullptr);
  for (int round = 0; round < 3; ++round) {
    auto outcomes = set->evaluate(obj(round == 1 ? R"({"n":2})" : R"({"n":1})"));
    ASSERT_EQ(outcomes.size(), 4u);
    for (int i = 0; i < 3; ++i) {
      EXPECT_FALSE(outcomes[i].passed) << outcomes[i].rule;
      EXPECT_TRUE(contains(outcomes[i].message, "memory")) << outcomes[i].rule << ": " << outcomes[i].message;
    }
    // The state survives and the next rule evaluates normally.
    EXPECT_EQ(outcomes[3].passed, round != 1) << outcomes[3].message;
  }
  // And the same RuleSet still evaluates correctly afterwards.
  auto ok_only = compile_ok({rule("ok", "answers.n == 1")}, limits);
  ASSERT_NE(ok_only, nullptr);
  for (int i = 0; i < 3; ++i) {
    auto outcomes = set->evaluate(obj(R"({"n":1})"));
    ASSERT_EQ(outcomes.size(), 4u);
    EXPECT_TRUE(outcomes[3].passed) << outcomes[3].message;
    outcomes = set->evaluate(obj(R"({"n":5})"));
    EXPECT_FALSE(outcomes[3].passed);
    EXPECT_EQ(outcomes[3].message, "n is not 1");
  }
}

TEST(RuleSandbox, GlobalsDoNotOutliveAnEvaluation) {
  auto set = compile_ok({
      rule("read", "answers ~= nil and answers.n == 1 and helper == nil", "a global of an earlier evaluation leaked"),
      rule("count", "(function() counter = (counter or 0) + 1 return counter == 1 end)()", "counter leaked"),
      rule("shadow", "(function() answers = nil helper = 1 return true end)()", "never"),
      rule("after", "answers == nil and helper == 1", "rules of one evaluation do not share globals"),
  });
  ASSERT_NE(set, nullptr);
  for (int i = 0; i < 5; ++i) {
    auto outcomes = set->evaluate(obj(R"({"n":1})"));
    ASSERT_EQ(outcomes.size(), 4u);
    for (const auto& o : outcomes) EXPECT_TRUE(o.passed) << "evaluation " << i << ", " << o.rule << ": " << o.message;
  }
}

// Writing through _G reaches the shared global table of the pooled Lua state,
// so it is seen by later evaluations (of other responses).
TEST(RuleSandbox, GlobalTableWritesDoNotOutliveAnEvaluation) {
  auto set = compile_ok(
      {rule("g", "(function() local seen = rawget(_G, 'leak') _G.leak = true return seen == nil end)()", "leaked")});
  ASSERT_NE(set, nullptr);
  for (int i = 0; i < 3; ++i) {
    auto outcomes = set->evaluate(obj("{}"));
    ASSERT_EQ(outcomes.size(), 1u);
    EXPECT_TRUE(outcomes[0].passed) << "evaluation " << i << " saw a global written by an earlier one";
  }
}

// Runs one check with a short budget on another thread. A check that never
// returns fails the test, and the process ends at once instead of hanging
// (the stuck thread could not be joined).
RuleOutcome evaluate_bounded(const std::string& check, RuleLimits limits) {
  auto set = compile_ok({rule("r", check, "msg", true)}, limits);
  if (!set) return {};
  auto evaluation = std::async(std::launch::async, [set] { return set->evaluate(obj("{}")); });
  if (evaluation.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    std::fprintf(stderr, "the rule `%s` is still running after 30 s: its budget did not stop it\n", check.c_str());
    std::_Exit(1);
  }
  auto outcomes = evaluation.get();
  if (outcomes.size() != 1) {
    ADD_FAILURE() << "expected one outcome, got " << outcomes.size();
    return {};
  }
  return outcomes[0];
}

RuleLimits small_budget() {
  RuleLimits limits;
  limits.instruction_budget = 20'000;
  limits.total_budget = 20'000;
  return limits;
}

// Each construct here ran with the instruction hook off or out of its reach
// before: the budget must stop every one of them, and the rule fails.
TEST(RuleSandbox, EveryConstructStopsAtTheBudget) {
  const std::string loop = "while true do end";
  for (const std::string& check : std::vector<std::string>{
           "xpcall(error, function() " + loop + " end)",
           "xpcall(function() " + loop + " end, function() " + loop + " end)",
           "xpcall(error, function() while true do pcall(error) end end)",
           "(function() while true do pcall(function() " + loop + " end) end end)()",
           "(function() while true do xpcall(function() " + loop + " end, function() " + loop + " end) end end)()",
           "(function() local x <close> = setmetatable({}, {__close = function() " + loop + " end}) " + loop +
               " end)()",
           "setmetatable({}, {__index = function() " + loop + " end}).x",
           "(function() local t = setmetatable({}, {__newindex = function() " + loop + " end}) t.x = 1 end)()",
           "#setmetatable({}, {__len = function() " + loop + " end}) > 0",
           "tostring(setmetatable({}, {__tostring = function() " + loop + " end})) ~= nil",
           "table.sort({3, 2, 1}, function(a, b) " + loop + " end)",
           "table.concat(setmetatable({}, {__index = function() return 'x' end}), '', 1, 1e15)",
       }) {
    RuleOutcome o = evaluate_bounded(check, small_budget());
    EXPECT_FALSE(o.passed) << check;
    EXPECT_TRUE(contains(o.message, "budget")) << check << ": " << o.message;
  }
}

// C loops that the instruction hook never sees are refused before they start.
TEST(RuleSandbox, LongCLoopsAreRefused) {
  for (const std::string& check : std::vector<std::string>{
           "#string.rep('x', 1e15) > 0",
           "#string.rep('', 1e15, 'ab') > 0",
           "table.insert(setmetatable({}, {__len = function() return 1e15 end}), 1, 'x')",
           "table.remove(setmetatable({}, {__len = function() return 1e15 end}), 1)",
           "table.move({}, 1, 1e15, 2)",
           "table.unpack({}, 1, 1e15)",
       }) {
    RuleOutcome o = evaluate_bounded(check, small_budget());
    EXPECT_FALSE(o.passed) << check;
    EXPECT_TRUE(contains(o.message, "could not be evaluated")) << check << ": " << o.message;
  }
  // An empty repetition is simply empty.
  EXPECT_TRUE(evaluate_bounded("string.rep('', 1e15) == ''", small_budget()).passed);
  EXPECT_TRUE(evaluate_bounded("string.rep('ab', 3, ',') == 'ab,ab,ab'", small_budget()).passed);
}

// Finalizers run with hooks off: a rule may not install one.
TEST(RuleSandbox, FinalizersAreRefused) {
  RuleOutcome o =
      evaluate_bounded("setmetatable({}, {__gc = function() while true do end end}) ~= nil", small_budget());
  EXPECT_FALSE(o.passed);
  EXPECT_TRUE(contains(o.message, "__gc")) << o.message;
  EXPECT_TRUE(evaluate_bounded("getmetatable(setmetatable({}, {__mode = 'k'})).__mode == 'k'", small_budget()).passed);
}

// Wall time stops a rule whose instructions are few but slow (big C calls).
TEST(RuleSandbox, TimeBudgetStopsSlowRules) {
  RuleLimits limits;
  limits.instruction_budget = 1'000'000'000;
  limits.total_budget = 1'000'000'000;
  limits.time_budget = std::chrono::milliseconds(20);
  auto set =
      compile_ok({rule("slow", "(function() for i = 1, 1e9 do local s = string.rep('x', 1e5) end end)()", "slow"),
                  rule("next", "true", "next")},
                 limits);
  ASSERT_NE(set, nullptr);
  auto outcomes = set->evaluate(obj("{}"));
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_FALSE(outcomes[0].passed);
  EXPECT_TRUE(contains(outcomes[0].message, "time budget")) << outcomes[0].message;
  EXPECT_FALSE(outcomes[1].passed);
  EXPECT_TRUE(contains(outcomes[1].message, "time budget")) << outcomes[1].message;
  // The pooled state is usable again for the next submission.
  auto quick = compile_ok({rule("ok", "answers.n == 1", "n")}, limits);
  ASSERT_NE(quick, nullptr);
  EXPECT_TRUE(quick->evaluate(obj(R"({"n":1})"))[0].passed);
  auto again = set->evaluate(obj("{}"));
  EXPECT_FALSE(again[0].passed);
  EXPECT_TRUE(contains(again[0].message, "time budget")) << again[0].message;
}

// What a rule can reach. A new name here must be a decision: when this fails,
// check that the new function cannot leave the sandbox, loop in C beyond the
// budgets or keep state between evaluations, then add it.
TEST(RuleSandbox, ExposesExactlyTheseNames) {
  // Debian's Lua is built with LUA_COMPAT_MATHLIB: atan2, cosh, frexp, ldexp,
  // log10, pow, sinh and tanh are there too (pure functions of numbers).
  const std::vector<std::string> expected = {
      "_VERSION",
      "assert",
      "error",
      "getmetatable",
      "ipairs",
      "math",
      "math.abs",
      "math.acos",
      "math.asin",
      "math.atan",
      "math.atan2",
      "math.ceil",
      "math.cos",
      "math.cosh",
      "math.deg",
      "math.exp",
      "math.floor",
      "math.fmod",
      "math.frexp",
      "math.huge",
      "math.ldexp",
      "math.log",
      "math.log10",
      "math.max",
      "math.maxinteger",
      "math.min",
      "math.mininteger",
      "math.modf",
      "math.pi",
      "math.pow",
      "math.rad",
      "math.random",
      "math.randomseed",
      "math.sin",
      "math.sinh",
      "math.sqrt",
      "math.tan",
      "math.tanh",
      "math.tointeger",
      "math.type",
      "math.ult",
      "next",
      "pairs",
      "pcall",
      "rawequal",
      "rawget",
      "rawlen",
      "select",
      "setmetatable",
      "string",
      "string.byte",
      "string.char",
      "string.format",
      "string.len",
      "string.lower",
      "string.pack",
      "string.packsize",
      "string.rep",
      "string.reverse",
      "string.sub",
      "string.unpack",
      "string.upper",
      "table",
      "table.concat",
      "table.insert",
      "table.move",
      "table.pack",
      "table.remove",
      "table.sort",
      "table.unpack",
      "tonumber",
      "tostring",
      "type",
      "utf8",
      "utf8.char",
      "utf8.charpattern",
      "utf8.codepoint",
      "utf8.codes",
      "utf8.len",
      "utf8.offset",
      "xpcall",
  };
  auto names = RuleSet::sandbox_names();
  std::string listed;
  for (const auto& n : names) listed += "\"" + n + "\", ";
  EXPECT_EQ(names, expected) << "reachable now: " << listed;
}

TEST(RuleEvaluate, IsThreadSafe) {
  auto set = compile_ok({
      rule("even", "answers.n % 2 == 0", "odd"),
      rule("tag", "answers.tag == 't' .. answers.n and answers.list[2] == answers.n", "bad tag"),
      rule("scratch", "(function() mine = answers.n for i = 1, 50 do end return mine == answers.n end)()",
           "scratch clobbered"),
  });
  ASSERT_NE(set, nullptr);
  constexpr int threads = 8;
  constexpr int per_thread = 500;
  std::atomic<int> wrong{0};
  std::atomic<int> done{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        int n = t * per_thread + i;
        json::object answers{{"n", n}, {"tag", "t" + std::to_string(n)}, {"list", json::array{0, n}}};
        auto outcomes = set->evaluate(answers);
        bool right = outcomes.size() == 3 && outcomes[0].passed == (n % 2 == 0) &&
                     (outcomes[0].passed || outcomes[0].message == "odd") && outcomes[1].passed && outcomes[2].passed;
        if (!right) ++wrong;
        ++done;
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(done.load(), threads * per_thread);
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
