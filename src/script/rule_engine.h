#pragma once
// Evaluates a form's business rules in a Lua 5.4 sandbox.
//
// Sandbox: only the base (minus load, loadstring, dofile, loadfile, require,
// collectgarbage, print, rawset), string (minus dump and the pattern functions
// find, match, gmatch and gsub, which backtrack in C beyond the reach of the
// instruction count), table, math and utf8 libraries, all read-only; text
// chunks only. Each rule evaluation has an instruction budget and the
// state a memory cap; a rule that errors or exceeds either fails with the
// reason, it never takes the server down. Globals written by a rule live in a
// per-evaluation environment and are gone afterwards.
//
// Rules are compiled once (RuleSet::compile). Prepared Lua states are pooled
// per RuleSet, so evaluating costs a table build and the calls, not a state.

#include <boost/json/object.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "domain/field_error.h"
#include "domain/rule.h"

namespace daisy {

struct RuleLimits {
  std::size_t instruction_budget = 200'000;    // per rule: a few milliseconds at most
  std::size_t total_budget = 1'000'000;        // all rules of one submission together
  std::size_t memory_bytes = 8 * 1024 * 1024;  // per Lua state
};

class RuleSet {
 public:
  // Compiles every rule's check; errors name "rules[i].check".
  static std::variant<std::shared_ptr<RuleSet>, std::vector<FieldError>> compile(
      const std::vector<Rule>& rules, RuleLimits limits = {});
  ~RuleSet();

  // Thread-safe. One outcome per rule, in order.
  std::vector<RuleOutcome> evaluate(const boost::json::object& answers) const;

  const std::vector<Rule>& rules() const { return rules_; }

  struct State;  // a prepared Lua state; defined in rule_engine.cpp

 private:
  RuleSet(std::vector<Rule> rules, RuleLimits limits);
  std::unique_ptr<State> acquire() const;
  void release(std::unique_ptr<State> state) const;

  std::vector<Rule> rules_;
  RuleLimits limits_;
  mutable std::mutex mu_;
  mutable std::vector<std::unique_ptr<State>> idle_;
};

}  // namespace daisy
