#include "domain/field_error.h"

#include <boost/json/object.hpp>

#include "util/utf8.h"

namespace daisy {

boost::json::array field_errors_json(const std::vector<FieldError>& errors) {
  auto text = [](const std::string& s) {
    bool cut = false;
    return sanitize_utf8(s, s.size() * 3, cut);
  };
  boost::json::array list;
  for (const auto& e : errors)
    list.push_back(boost::json::object{{"field", text(e.field)}, {"message", text(e.message)}});
  return list;
}

}  // namespace daisy
