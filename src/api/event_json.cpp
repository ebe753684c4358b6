#include "api/event_json.h"

#include "util/json_text.h"
#include "util/time.h"

namespace daisy::api {

void append_event(std::string& out, const EventRow& e) {
  out += "{\"id\":\"";
  out += e.id;
  out += "\",\"session_id\":\"";
  out += e.session_id;
  out += "\",\"category\":";
  append_json_string(out, e.category);
  out += ",\"name\":";
  append_json_string(out, e.name);
  out += ",\"timestamp\":\"";
  append_utc_ns(out, e.ts_ns);
  out += "\",\"data\":";
  out += e.data;
  out += ",\"app_id\":\"";
  out += e.app_id;
  out += "\",\"received_at\":\"";
  append_utc_ns(out, e.received_ns);
  out += "\"}";
}

}  // namespace daisy::api
