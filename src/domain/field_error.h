#pragma once
// One reason an input is invalid: which field, and what is wrong with it.

#include <string>

namespace daisy {

struct FieldError {
  std::string field;    // path of the offending input, e.g. "name" or "questions[2].key"
  std::string message;  // for a person
};

}  // namespace daisy
