// A request body as POST /v1/events reads it (src/api/event_ingest.cpp):
//  - http::parse_json (simdjson, the validating parser of read-only bodies; on
//    failure Boost.JSON's position for the message) and parse_json_object_body;
//  - http::parse_json_value into a monotonic arena, then one event or a batch
//    ({"events": [...]}), each event through check_event, the envelope check;
//  - the same bytes as NDJSON (a line per event, blank lines skipped);
//  - for an accepted event its data as JSON text (append_json), for a refused
//    one the raw payload kept as UTF-8 (sanitize_utf8) and the errors as JSON.
// The clock is fixed so that a crash reproduces.

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "domain/event.h"
#include "fuzz_common.h"
#include "http/json_body.h"
#include "http/problem.h"
#include "util/ids.h"
#include "util/json_text.h"
#include "util/utf8.h"

namespace {

namespace json = boost::json;
using daisy::FieldError;

constexpr std::int64_t now_ns = 1'717'200'000'000'000'000;  // 2024-06-01T00:00:00Z
constexpr std::int64_t max_skew_ns = 60'000'000'000;        // EventSettings' default
constexpr std::size_t max_payload_bytes = 4096;             // EventSettings' default
constexpr std::size_t max_batch_events = 10'000;

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = daisy::utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void keep_rejected(std::string_view raw, const std::vector<FieldError>& errors) {
  bool truncated = false;
  std::string payload = daisy::sanitize_utf8(raw, max_payload_bytes, truncated);
  FUZZ_CHECK(payload.size() <= max_payload_bytes, "a kept payload over its limit");
  FUZZ_CHECK(valid_utf8(payload), "a kept payload that is not UTF-8");
  FUZZ_CHECK(truncated || payload.size() >= raw.size(), "a payload lost bytes without being truncated");
  std::string text = json::serialize(daisy::field_errors_json(errors));
  FUZZ_CHECK(daisy::fuzz::is_json(text), "the errors are not JSON");
}

void check_one(const json::value& value, std::string_view raw) {
  daisy::EventCheck check = daisy::check_event(value, now_ns, max_skew_ns);
  if (!check.errors.empty()) {
    std::string raw_text;
    if (raw.empty()) {
      daisy::append_json(raw_text, value);
      FUZZ_CHECK(daisy::fuzz::is_json(raw_text), "append_json wrote text that is not JSON");
      raw = raw_text;
    }
    (void)daisy::rejection_reason_name(check.reason);
    keep_rejected(raw, check.errors);
    return;
  }
  const daisy::Event& e = check.event;
  FUZZ_CHECK(daisy::is_uuid(e.session_id), "an accepted session_id that is not a UUID");
  FUZZ_CHECK(daisy::lower_case_uuid(e.session_id) == e.session_id, "an accepted session_id not in lower case");
  FUZZ_CHECK(!e.category.empty() && !e.name.empty(), "an accepted event without a category or name");
  FUZZ_CHECK(!daisy::has_hidden_control(e.category) && !daisy::has_hidden_control(e.name),
             "an accepted name with a control character");
  FUZZ_CHECK(e.timestamp_ns <= now_ns + max_skew_ns, "an accepted timestamp in the future");
  FUZZ_CHECK(e.data && e.data->is_object(), "accepted data that is not an object");
  std::string data_text;
  daisy::append_json(data_text, *e.data);
  FUZZ_CHECK(daisy::fuzz::is_json(data_text), "append_json wrote text that is not JSON");
}

void as_json_body(std::string_view body) {
  json::storage_ptr storage = json::make_shared_resource<json::monotonic_resource>();
  auto parsed = daisy::http::parse_json_value(body, storage);
  if (std::get_if<daisy::http::Response>(&parsed)) {
    keep_rejected(body, {{"", "the body is not JSON"}});
    return;
  }
  const json::value& root = std::get<json::value>(parsed);
  const json::value* list = root.is_object() ? root.get_object().if_contains("events") : nullptr;
  if (!list) {
    check_one(root, body);
    return;
  }
  if (!list->is_array() || list->get_array().size() > max_batch_events) return;
  for (const auto& element : list->get_array()) check_one(element, {});
}

void as_ndjson(std::string_view body) {
  json::storage_ptr storage = json::make_shared_resource<json::monotonic_resource>();
  std::deque<json::value> owned;
  json::parser parser;
  std::size_t items = 0;
  while (!body.empty() && items < max_batch_events + 1) {
    std::size_t end = body.find('\n');
    std::string_view line = body.substr(0, end);
    body = end == std::string_view::npos ? std::string_view() : body.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    ++items;
    boost::system::error_code ec;
    parser.reset(storage);
    parser.write(line.data(), line.size(), ec);
    if (ec) {
      keep_rejected(line, {{"", "line is not JSON: " + ec.message()}});
      continue;
    }
    check_one(owned.emplace_back(parser.release()), line);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body = daisy::fuzz::as_text(data, size);

  // The simdjson path of read-only bodies, and its error message.
  daisy::http::Request req;
  req.body = body;
  auto parsed = daisy::http::parse_json_object_body(req);
  if (auto* refusal = std::get_if<daisy::http::Response>(&parsed)) {
    FUZZ_CHECK(refusal->status == 400 || refusal->status == 422, "an unexpected refusal status");
    FUZZ_CHECK(daisy::fuzz::is_json(refusal->body), "a problem body that is not JSON");
  } else {
    auto& doc = std::get<daisy::http::ParsedJson>(parsed);
    std::vector<FieldError> errors;
    simdjson::dom::object obj;
    if (!doc.root().get(obj)) {
      (void)daisy::http::get_string(obj, "session_id", true, errors);
      (void)daisy::http::get_string(obj, "name", false, errors, "events[0].");
    }
  }

  as_json_body(body);
  as_ndjson(body);
  return 0;
}
