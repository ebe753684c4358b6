#pragma once
// A question of a form and the checks an answer to it must pass. Pure rules,
// no I/O: a definition is read from JSON and checked once when a form is
// saved; answers are checked on every submission.

#include <boost/json/value.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/field_error.h"

namespace re2 {
class RE2;
}

namespace daisy {

enum class QuestionType {
  text,
  integer,
  number,
  boolean,
  choice,
  multi_choice,
  date,
  datetime,
  email,
  phone,
  geopoint
};

std::optional<QuestionType> parse_question_type(std::string_view name);
std::string_view question_type_name(QuestionType type);

struct Question {
  std::string key;  // [a-z][a-z0-9_]*, at most 64 characters, unique in its form
  QuestionType type = QuestionType::text;
  std::string label;
  bool required = false;
  boost::json::value metadata;  // an object, or null when absent

  // text
  std::optional<std::int64_t> min_length, max_length;  // in Unicode code points
  std::string pattern;                                 // RE2 syntax, whole-answer match
  std::shared_ptr<const re2::RE2> compiled_pattern;
  // integer, number
  std::optional<double> min, max;
  // choice, multi_choice
  std::vector<std::string> options;
  std::optional<std::int64_t> min_selected, max_selected;

  // The definition as JSON, as returned by the API.
  boost::json::object to_json() const;
};

// Reads a question definition. `path` prefixes field names in errors, e.g.
// "questions[3]". Returns nullopt and appends errors when it cannot work.
std::optional<Question> parse_question(const boost::json::value& input, const std::string& path,
                                       std::vector<FieldError>& errors);

// Checks one answer (present, not null). Appends at most one error, named by the key.
void check_answer(const Question& question, const boost::json::value& answer, std::vector<FieldError>& errors);

bool is_valid_question_key(std::string_view key);

}  // namespace daisy
