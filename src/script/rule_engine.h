#pragma once
// Evaluates a form's business rules in a Lua 5.4 sandbox.
//
// Sandbox: script/sandbox.h (what rules can reach; budgets that stop them).
//
// Budgets: instructions per rule and per submission, wall time per
// submission, memory per state. A budget that runs out stops the rule
// whatever it is running (xpcall message handlers, pcall in a loop,
// metamethods, table.sort callbacks): from then on every instruction fails
// and no message handler is called. The rule then fails with the reason; it
// never takes the server down. Globals written by a rule live in a
// per-evaluation environment and are gone afterwards.
//
// Rules are compiled once (RuleSet::compile). Prepared Lua states are pooled
// per RuleSet, so evaluating costs a table build and the calls, not a state.

#include <boost/json/object.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "domain/field_error.h"
#include "domain/rule.h"

namespace daisy {

template <class State>
class SandboxPool;

struct RuleLimits {
  std::size_t instruction_budget = 200'000;    // per rule: a few milliseconds at most
  std::size_t total_budget = 1'000'000;        // all rules of one submission together
  std::size_t memory_bytes = 8 * 1024 * 1024;  // per Lua state
  // Wall time for all rules of one submission: a backstop for time spent in
  // C library calls between instruction checks. The budgets above stop a
  // runaway rule first: one that fills its 8 MiB takes about 190 ms under
  // ASan, a fraction of that in the optimised build.
  std::chrono::milliseconds time_budget{250};
};

class RuleSet {
 public:
  // Compiles every rule's check; errors name "rules[i].check".
  static std::variant<std::shared_ptr<RuleSet>, std::vector<FieldError>> compile(const std::vector<Rule>& rules,
                                                                                 RuleLimits limits = {});
  ~RuleSet();

  // Thread-safe. One outcome per rule, in order.
  std::vector<RuleOutcome> evaluate(const boost::json::object& answers) const;

  const std::vector<Rule>& rules() const { return rules_; }

  // Every name a rule can reach in a fresh sandbox: globals, and "lib.name"
  // for the members of each library table. For the test that notices when
  // something new becomes reachable.
  static std::vector<std::string> sandbox_names();

  struct State;  // a prepared Lua state; defined in rule_engine.cpp

 private:
  RuleSet(std::vector<Rule> rules, RuleLimits limits);
  std::unique_ptr<State> acquire() const;
  void release(std::unique_ptr<State> state) const;

  std::vector<Rule> rules_;
  RuleLimits limits_;
  std::unique_ptr<SandboxPool<State>> pool_;
};

}  // namespace daisy
