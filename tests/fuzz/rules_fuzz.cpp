// Form rules (src/script/rule_engine.cpp): the input is up to four Lua check
// expressions separated by NUL bytes. Each becomes a rule as a form
// definition would carry it (parse_rule: name, check, message, on_fail), the
// rules are compiled (RuleSet::compile, default limits) and, when they
// compile, evaluated twice against a small fixed answers object (the second
// time on the pooled state the first one left). Whatever a rule does, the
// evaluation must come back, within its budgets, with one outcome per rule.
//
// Lua itself is Debian's prebuilt library, not instrumented: coverage guides
// through our sandbox (guards, hooks, lazy answers, error paths), the
// dictionary (dict/lua.dict) through the language.

#include <boost/json/parse.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "domain/rule.h"
#include "fuzz_common.h"
#include "script/rule_engine.h"

namespace {

namespace json = boost::json;

const json::object& answers() {
  static const json::object a = json::parse(R"({
    "age": 42, "income": 1000.5, "savings": 200, "name": "Ada Lovelace", "email": "ada@example.org",
    "consent": true, "declined": false, "nothing": null, "big": 18446744073709551615, "neg": -7,
    "tags": ["a", "b", "c"], "where": {"lat": 51.5, "lon": -0.12},
    "nested": {"a": {"b": {"c": [1, 2, {"d": "deep"}]}}}, "empty": {}, "list": []
  })")
                                    .as_object();
  return a;
}

// A wall-time ceiling far above the rules' own budgets (50 ms of wall time,
// 1,000,000 instructions per submission): past it, a rule escaped them.
constexpr auto ceiling = std::chrono::seconds(2);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = daisy::fuzz::as_text(data, size);
  std::vector<daisy::Rule> rules;
  std::vector<daisy::FieldError> errors;
  for (std::size_t i = 0; i < 4 && !input.empty(); ++i) {
    std::size_t nul = input.find('\0');
    std::string_view check = input.substr(0, nul);
    input = nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
    json::object o{{"name", "r" + std::to_string(i)},
                   {"check", check},
                   {"message", "rule " + std::to_string(i) + " failed"},
                   {"on_fail", i % 2 ? "reject" : "flag"}};
    if (auto rule = daisy::parse_rule(o, "rules[" + std::to_string(i) + "]", errors)) rules.push_back(*rule);
  }
  if (rules.empty()) return 0;

  auto compiled = daisy::RuleSet::compile(rules);
  if (auto* compile_errors = std::get_if<std::vector<daisy::FieldError>>(&compiled)) {
    FUZZ_CHECK(!compile_errors->empty(), "refused without an error");
    return 0;
  }
  const auto& set = std::get<std::shared_ptr<daisy::RuleSet>>(compiled);
  for (int round = 0; round < 2; ++round) {
    auto start = std::chrono::steady_clock::now();
    auto outcomes = set->evaluate(answers());
    auto took = std::chrono::steady_clock::now() - start;
    FUZZ_CHECK(took < ceiling, "an evaluation ran far past its time and instruction budgets");
    FUZZ_CHECK(outcomes.size() == rules.size(), "not one outcome per rule");
    for (std::size_t i = 0; i < rules.size(); ++i) {
      FUZZ_CHECK(outcomes[i].rule == rules[i].name, "an outcome for another rule");
      FUZZ_CHECK(outcomes[i].reject == rules[i].reject, "an outcome with another on_fail");
      FUZZ_CHECK(outcomes[i].passed || !outcomes[i].message.empty(), "a failed rule without a message");
    }
  }
  return 0;
}
