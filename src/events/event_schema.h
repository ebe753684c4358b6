#pragma once
// The JSON Schema of an event type's data, compiled once with valijson and
// shared read-only by every I/O thread.
//
// Supported: what valijson implements of draft 7 (type, properties, required,
// additionalProperties, enum, const, minLength, maxLength, pattern, minimum,
// maximum, items, allOf/anyOf/oneOf, ...), plus the formats date, time and
// date-time (valijson) and uuid, email and uri (rewritten here into patterns,
// since valijson 1.0 ignores them). $ref is refused (a reference can make
// validation recurse without end). valijson runs patterns and date formats
// with std::regex, which recurses per character: for a type that uses them,
// data holding a string longer than max_regex_string is refused unchecked.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <string>
#include <vector>

#include "domain/field_error.h"

namespace valijson {
class Schema;
}

namespace daisy::events {

class EventSchema {
 public:
  // Compiles a schema document; throws std::invalid_argument with a reason a
  // person can act on when it is not a usable schema.
  static std::shared_ptr<const EventSchema> compile(const boost::json::value& document);
  ~EventSchema();

  static constexpr std::size_t max_regex_string = 4096;

  // Appends one error per offending place of data (at most 20), with fields
  // such as "data.form.first_name". Thread-safe.
  void validate(const boost::json::value& data, std::vector<FieldError>& errors) const;

 private:
  EventSchema() = default;
  std::unique_ptr<valijson::Schema> schema_;
  bool uses_regex_ = false;
};

}  // namespace daisy::events
