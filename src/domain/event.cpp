#include "domain/event.h"

#include <boost/json/object.hpp>

#include "util/ids.h"
#include "util/iso8601.h"
#include "util/utf8.h"

namespace daisy {
namespace json = boost::json;

const char* rejection_reason_name(RejectionReason reason) {
  switch (reason) {
    case RejectionReason::malformed:
      return "malformed";
    case RejectionReason::invalid:
      return "invalid";
    case RejectionReason::future_timestamp:
      return "future_timestamp";
    case RejectionReason::schema:
      return "schema";
    case RejectionReason::unknown_type:
      return "unknown_type";
  }
  return "invalid";
}

namespace {

const json::string* string_field(const json::object& obj, std::string_view key, std::vector<FieldError>& errors) {
  const json::value* v = obj.if_contains(key);
  if (!v || v->is_null()) {
    errors.push_back({std::string(key), "is required"});
    return nullptr;
  }
  if (!v->is_string()) {
    errors.push_back({std::string(key), "must be a string"});
    return nullptr;
  }
  return &v->get_string();
}

void check_name(const json::object& obj, std::string_view key, std::string& out, std::vector<FieldError>& errors) {
  const json::string* s = string_field(obj, key, errors);
  if (!s) return;
  if (s->empty()) {
    errors.push_back({std::string(key), "must not be empty"});
  } else if (utf8_length(*s) > max_event_name_length) {
    errors.push_back({std::string(key), "must be at most 128 characters"});
  } else if (has_hidden_control(*s)) {
    errors.push_back({std::string(key), "must not contain control or bidirectional formatting characters"});
  } else {
    out.assign(s->data(), s->size());
  }
}

}  // namespace

EventCheck check_event(const json::value& value, std::int64_t now_ns, std::int64_t max_skew_ns) {
  EventCheck result;
  auto& errors = result.errors;
  if (!value.is_object()) {
    errors.push_back({"", "an event must be a JSON object"});
    return result;
  }
  const json::object& obj = value.get_object();

  if (const json::string* s = string_field(obj, "session_id", errors)) {
    if (!is_uuid(*s)) {
      errors.push_back({"session_id", "must be a UUID such as 0190c7a2-5b1e-7c3d-9f00-2a1b3c4d5e6f"});
    } else {
      result.event.session_id = lower_case_uuid(*s);
    }
  }
  if (const json::value* id = obj.if_contains("id"); id && !id->is_null()) {
    if (!id->is_string() || !is_uuid(id->get_string())) {
      errors.push_back({"id", "must be a UUID the client made, such as 0190c7a2-5b1e-7c3d-9f00-2a1b3c4d5e6f"});
    } else {
      result.event.id = lower_case_uuid(id->get_string());
    }
  }
  check_name(obj, "category", result.event.category, errors);
  check_name(obj, "name", result.event.name, errors);

  const json::value* data = obj.if_contains("data");
  if (!data || data->is_null()) {
    errors.push_back({"data", "is required (an object, possibly empty)"});
  } else if (!data->is_object()) {
    errors.push_back({"data", "must be an object"});
  } else {
    result.event.data = data;
  }

  if (const json::string* s = string_field(obj, "timestamp", errors)) {
    auto ts = parse_timestamp_ns(*s);
    // Past 2262 a time no longer fits int64 nanoseconds; such a date is in the future.
    auto date = s->size() >= 10 ? parse_date(std::string_view(*s).substr(0, 10)) : std::nullopt;
    if (!ts && date && date->year >= 2262) {
      errors.push_back({"timestamp", "timestamp is in the future"});
      if (errors.size() == 1) result.reason = RejectionReason::future_timestamp;
    } else if (!ts) {
      errors.push_back({"timestamp",
                        "must be an ISO 8601 timestamp such as 2021-01-01T09:15:27.243Z or "
                        "2021-01-01 09:15:27.243860 (UTC when no offset is given)"});
    } else if (*ts > now_ns + max_skew_ns) {
      errors.push_back({"timestamp", "timestamp is in the future"});
      if (errors.size() == 1) result.reason = RejectionReason::future_timestamp;
    } else {
      result.event.timestamp_ns = *ts;
    }
  }

  for (const auto& field : obj) {
    std::string_view key = field.key();
    if (key != "id" && key != "session_id" && key != "category" && key != "name" && key != "data" &&
        key != "timestamp") {
      errors.push_back({std::string(key), "is not a known field"});
    }
  }
  if (errors.size() > 1) result.reason = RejectionReason::invalid;
  return result;
}

}  // namespace daisy
