#include "domain/field_error.h"

#include <boost/json/object.hpp>

#include "util/utf8.h"

namespace daisy {

boost::json::array field_errors_json(const std::vector<FieldError>& errors) {
  boost::json::array list;
  for (const auto& e : errors)
    list.push_back(boost::json::object{{"field", sanitize_utf8(e.field)}, {"message", sanitize_utf8(e.message)}});
  return list;
}

}  // namespace daisy
