#pragma once
// One reason an input is invalid: which field, and what is wrong with it.

#include <boost/json/array.hpp>

#include <string>
#include <vector>

namespace daisy {

struct FieldError {
  std::string field;    // path of the offending input, e.g. "name" or "questions[2].key"
  std::string message;  // for a person
};

// [{"field": ..., "message": ...}], as problem replies and rejected events
// show them. Bytes that are not UTF-8 (a field may quote what was sent)
// become U+FFFD, so the result is always JSON.
boost::json::array field_errors_json(const std::vector<FieldError>& errors);

}  // namespace daisy
