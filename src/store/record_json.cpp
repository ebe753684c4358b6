#include "store/record_json.h"

#include <boost/json/parse.hpp>

#include "util/json_text.h"
#include "util/time.h"

namespace daisy {

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

namespace {

void append_quoted(std::string& out, std::string_view safe) {
  out.push_back('"');
  out.append(safe);
  out.push_back('"');
}

}  // namespace

std::string response_json(const ResponseRow& r) {
  std::string out;
  out.reserve(256 + r.answers.size() + r.metadata.size() + r.checks.size());
  out += "{\"id\":";
  append_quoted(out, r.id);
  out += ",\"form_id\":";
  append_quoted(out, r.form_id);
  out += ",\"form_version\":" + std::to_string(r.form_version);
  out += ",\"status\":";
  append_quoted(out, r.status);
  out += ",\"answers\":" + r.answers;
  out += ",\"metadata\":" + r.metadata;
  out += ",\"submitted_at\":";
  append_quoted(out, r.submitted_at);
  out += ",\"received_at\":";
  append_quoted(out, r.received_at);
  out += ",\"updated_at\":";
  append_quoted(out, r.updated_at);
  out += ",\"revision\":" + std::to_string(r.revision);
  out += ",\"app_id\":";
  if (r.app_id.empty()) {
    out += "null";
  } else {
    append_quoted(out, r.app_id);
  }
  out += ",\"checks\":" + r.checks;
  out += "}";
  return out;
}

Result<std::string> job_payload(FormStore& store, const JobRow& job) {
  if (!job.refers_to_revision()) return job.payload;
  auto response = store.get_response_revision(job.source_id, job.revision);
  if (!response.is_ok()) return response.status();
  return response_json(response.value());
}

boost::json::object sync_json(const SyncRow& s) {
  boost::json::object o{{"id", std::to_string(s.seq)},
                        {"provider_id", s.provider_id},
                        {"trigger", s.trigger},
                        {"started_at", s.started_at},
                        {"duration_ms", s.duration_ms},
                        {"http_status", s.http_status},
                        {"seen", s.seen},
                        {"new", s.added},
                        {"changed", s.changed},
                        {"skipped", s.skipped}};
  if (s.error.empty()) {
    o["error"] = nullptr;
  } else {
    o["error"] = s.error;
  }
  return o;
}

boost::json::object rejection_json(const RejectionRow& r) {
  boost::json::object o;
  if (r.seq > 0) o["id"] = std::to_string(r.seq);
  boost::json::error_code ec;
  boost::json::value errors = boost::json::parse(r.errors, ec);
  o["app_id"] = r.app_id;
  o["received_at"] = format_utc_ns(r.received_ns);
  o["reason"] = r.reason;
  o["errors"] = ec ? boost::json::value(boost::json::array()) : std::move(errors);
  o["payload"] = r.payload;
  o["payload_truncated"] = r.truncated;
  return o;
}

}  // namespace daisy
