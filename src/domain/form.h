#pragma once
// A form: its definition (title, questions, rules) and the check of a set of
// answers against it. Pure rules, no I/O.

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "domain/field_error.h"
#include "domain/question.h"
#include "domain/rule.h"

namespace daisy {

struct FormDefinition {
  std::string title;
  std::string description;
  boost::json::value metadata;  // object or null
  std::vector<Question> questions;
  std::vector<Rule> rules;

  const Question* question(std::string_view key) const;
  boost::json::object to_json() const;  // title, description, metadata, questions, rules
};

struct Form {
  std::string id;
  int version = 1;
  std::string created_at;
  std::string updated_at;
  std::string archived_at;  // empty while active
  FormDefinition definition;

  bool archived() const { return !archived_at.empty(); }
  boost::json::object to_json() const;
};

// Reads a whole definition (POST /v1/forms). Errors name the offending field.
std::variant<FormDefinition, std::vector<FieldError>> parse_form_definition(const boost::json::object& body);

// Applies a partial change (PATCH /v1/forms/{id}): fields present replace the
// current ones. Sets questions_or_rules_changed when a new version is due.
std::variant<FormDefinition, std::vector<FieldError>> patch_form_definition(const FormDefinition& current,
                                                                            const boost::json::object& patch,
                                                                            bool& questions_or_rules_changed);

// Checks questions as a whole: unique keys, at most 500.
void check_questions(const std::vector<Question>& questions, std::vector<FieldError>& errors);

// Checks answers against the questions: unknown keys, missing required
// answers and each answer's type and constraints. One error per offending key
// (field = the key). A null answer counts as absent.
std::vector<FieldError> check_answers(const FormDefinition& form, const boost::json::object& answers);

// Reads a stored definition (as written by FormDefinition::to_json).
std::optional<FormDefinition> definition_from_json(const boost::json::value& stored);

}  // namespace daisy
