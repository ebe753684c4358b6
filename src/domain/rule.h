#pragma once
// A business rule of a form: a Lua expression over the answers, compiled
// when the form is saved and evaluated on every submission.

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <vector>

#include "domain/field_error.h"

namespace daisy {

struct Rule {
  std::string name;     // unique in the form
  std::string check;    // Lua 5.4 expression, e.g. answers.savings <= answers.income
  std::string message;  // shown when the check fails
  bool reject = false;  // on_fail: "reject" refuses the response; "flag" (default) stores it flagged

  boost::json::object to_json() const;
};

// The result of one rule on one response.
struct RuleOutcome {
  std::string rule;
  bool passed = false;
  std::string message;  // the rule's message, or why it could not be evaluated
  bool reject = false;
};

std::optional<Rule> parse_rule(const boost::json::value& input, const std::string& path,
                               std::vector<FieldError>& errors);

}  // namespace daisy
