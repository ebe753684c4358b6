#pragma once
// Compact JSON text from Boost.JSON values, appended to a string.
// Faster than boost::json::serialize on small documents (no serializer state
// machine), and numbers come out as people write them: 1.5, not 1.5E0.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>

namespace daisy {

void append_json(std::string& out, const boost::json::value& value);
void append_json(std::string& out, const boost::json::object& object);
void append_json(std::string& out, const boost::json::array& array);
void append_json_string(std::string& out, std::string_view s);  // quoted and escaped

// T: boost::json::value, object or array (no copy into a value).
template <class T>
std::string to_json_text(const T& json) {
  std::string out;
  append_json(out, json);
  return out;
}

}  // namespace daisy
