#pragma once
// A behaviour event as an app sends it, and the checks on its envelope
// (everything but the type-specific schema of its data, see events/).

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "domain/field_error.h"

namespace daisy {

struct Event {
  std::string id;          // the client's id for it (lower-case canonical UUID), or empty
  std::string session_id;  // lower-case canonical UUID
  std::string category;
  std::string name;
  std::int64_t timestamp_ns = 0;             // UTC
  const boost::json::value* data = nullptr;  // an object, pointing into the parsed document
};

constexpr std::size_t max_event_name_length = 128;  // category and name, in characters

// Why an event was refused, as counted in /metrics.
enum class RejectionReason { malformed, invalid, future_timestamp, schema, unknown_type };
const char* rejection_reason_name(RejectionReason reason);

struct EventCheck {
  Event event;
  std::vector<FieldError> errors;  // empty when the envelope is valid
  RejectionReason reason = RejectionReason::invalid;
};

// Checks the envelope of one event: id (optional, a UUID), session_id (UUID), category and name
// (1..128 characters), data (an object), timestamp (ISO 8601, see
// util/iso8601.h) no later than now_ns + max_skew_ns. Unknown fields are refused.
EventCheck check_event(const boost::json::value& value, std::int64_t now_ns, std::int64_t max_skew_ns);

}  // namespace daisy
