// Form definitions and answers (src/domain/form.cpp, question.cpp, rule.cpp).
// The input is two JSON documents one after the other: the first is a
// definition as POST /v1/forms sends it (parse_form_definition); when it is
// valid, the rest of the input is read as a JSON object and checked as the
// answers of a submission (check_answers), then applied as a PATCH of the
// definition (patch_form_definition). A valid definition must also survive
// what the store does with it: to_json, then definition_from_json, gives the
// same definition.

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

#include <cstdint>
#include <set>
#include <string>

#include "domain/form.h"
#include "fuzz_common.h"
#include "http/json_body.h"

namespace {

namespace json = boost::json;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = daisy::fuzz::as_text(data, size);

  // The first document, as the body of POST /v1/forms would be read.
  json::stream_parser parser;
  parser.reset(json::make_shared_resource<json::monotonic_resource>());
  json::error_code ec;
  std::size_t consumed = parser.write_some(input.data(), input.size(), ec);
  if (ec || !parser.done()) return 0;
  json::value first = parser.release();
  if (!first.is_object()) return 0;

  auto parsed = daisy::parse_form_definition(first.get_object());
  if (auto* errors = std::get_if<std::vector<daisy::FieldError>>(&parsed)) {
    FUZZ_CHECK(!errors->empty(), "refused without an error");
    return 0;
  }
  const daisy::FormDefinition& def = std::get<daisy::FormDefinition>(parsed);

  std::vector<daisy::FieldError> errors;
  daisy::check_questions(def.questions, errors);
  FUZZ_CHECK(errors.empty(), "a parsed definition fails check_questions");

  // Stored and read back, a definition is the same definition.
  json::object stored = def.to_json();
  std::string stored_text = json::serialize(stored);
  auto again = daisy::definition_from_json(json::parse(stored_text));
  FUZZ_CHECK(again.has_value(), "a stored definition does not read back");
  FUZZ_CHECK(json::serialize(again->to_json()) == stored_text, "a stored definition reads back different");

  // The rest of the input: the answers of a submission.
  daisy::http::Request req;
  req.body = input.substr(consumed);
  auto answers = daisy::http::parse_body_object(req);
  if (std::get_if<daisy::http::Response>(&answers)) return 0;
  const json::object& object = std::get<json::object>(answers);

  auto answer_errors = daisy::check_answers(def, object);
  std::set<std::string> fields;
  for (const auto& e : answer_errors) {
    FUZZ_CHECK(fields.insert(e.field).second, "two errors for one answer");
    FUZZ_CHECK(def.question(e.field) || object.contains(e.field), "an error about a key nobody sent or asked");
  }

  bool changed = false;
  auto patched = daisy::patch_form_definition(def, object, changed);
  if (auto* patched_def = std::get_if<daisy::FormDefinition>(&patched)) {
    std::vector<daisy::FieldError> patched_errors;
    daisy::check_questions(patched_def->questions, patched_errors);
    FUZZ_CHECK(patched_errors.empty(), "a patched definition fails check_questions");
    FUZZ_CHECK(daisy::definition_from_json(json::value(patched_def->to_json())).has_value(),
               "a patched definition does not read back");
  }
  return 0;
}
