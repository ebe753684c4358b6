#include "events/event_schema.h"

#define VALIJSON_USE_EXCEPTIONS 1
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <algorithm>
#include <stdexcept>

namespace daisy::events {
namespace json = boost::json;

namespace {

// valijson 1.0 accepts but does not check these formats; each becomes a
// pattern in an allOf beside the original keywords.
const char* pattern_for_format(std::string_view format) {
  if (format == "uuid") return "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
  if (format == "email") return "^[^@\\s]+@[^@\\s]+\\.[^@\\s.]+$";
  if (format == "uri") return "^[A-Za-z][A-Za-z0-9+.-]*:[^\\s]*$";
  return nullptr;
}

constexpr int max_schema_depth = 32;

// Keywords whose values are data, not schemas: never rewritten or inspected.
bool holds_data(std::string_view key) {
  return key == "const" || key == "enum" || key == "default" || key == "examples";
}

// What compiling found out about a schema document.
struct SchemaScan {
  bool uses_regex = false;  // a pattern or a regex-checked format somewhere
};

// Rewrites uuid/email/uri formats into patterns, refuses $ref (a reference
// can make validation recurse without end: {"allOf": [{"$ref": "#"}]}), and
// notes whether any regex will run.
void prepare(json::value& node, int depth, SchemaScan& scan) {
  if (depth > max_schema_depth) throw std::invalid_argument("the schema is nested too deeply");
  if (node.is_array()) {
    for (auto& item : node.get_array()) prepare(item, depth + 1, scan);
    return;
  }
  if (!node.is_object()) return;
  auto& obj = node.get_object();
  for (auto& field : obj) {
    if (field.key() == "$ref") throw std::invalid_argument("$ref is not supported; write the schema out in full");
    if (!holds_data(field.key())) prepare(field.value(), depth + 1, scan);
  }
  if (obj.contains("pattern") || obj.contains("patternProperties")) scan.uses_regex = true;
  auto* format = obj.if_contains("format");
  if (!format || !format->is_string()) return;
  std::string_view name = format->get_string();
  if (name == "date" || name == "time" || name == "date-time") scan.uses_regex = true;
  const char* pattern = pattern_for_format(name);
  if (!pattern) return;
  scan.uses_regex = true;
  obj.erase("format");
  json::value& all_of = obj["allOf"];
  if (!all_of.is_array()) all_of = json::array();
  all_of.get_array().push_back(json::object{{"pattern", pattern}});
}

// The longest string anywhere in a document (keys included).
std::size_t longest_string(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return v.get_string().size();
    case json::kind::array: {
      std::size_t n = 0;
      for (const auto& item : v.get_array()) n = std::max(n, longest_string(item));
      return n;
    }
    case json::kind::object: {
      std::size_t n = 0;
      for (const auto& field : v.get_object()) {
        n = std::max({n, field.key().size(), longest_string(field.value())});
      }
      return n;
    }
    default:
      return 0;
  }
}

bool is_index(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// valijson's context is {"<root>", "[form]", "[0]", ...}.
std::string field_of(const std::vector<std::string>& context) {
  std::string field = "data";
  for (std::size_t i = 1; i < context.size(); ++i) {
    std::string_view part = context[i];
    if (part.size() >= 2 && part.front() == '[' && part.back() == ']') part = part.substr(1, part.size() - 2);
    if (is_index(part)) {
      field += '[';
      field += part;
      field += ']';
    } else {
      field += '.';
      field += part;
    }
  }
  return field;
}

bool is_prefix(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return a.size() < b.size() && std::equal(a.begin(), a.end(), b.begin());
}

constexpr std::size_t max_reported_errors = 20;

}  // namespace

EventSchema::~EventSchema() = default;

std::shared_ptr<const EventSchema> EventSchema::compile(const json::value& document) {
  if (!document.is_object()) throw std::invalid_argument("a schema must be a JSON object");
  json::value rewritten = document;
  SchemaScan scan;
  prepare(rewritten, 0, scan);
  std::shared_ptr<EventSchema> compiled(new EventSchema());
  compiled->uses_regex_ = scan.uses_regex;
  compiled->schema_ = std::make_unique<valijson::Schema>();
  try {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::BoostJsonAdapter adapter(rewritten);
    parser.populateSchema(adapter, *compiled->schema_);
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("not a usable JSON Schema: ") + e.what());
  }
  return compiled;
}

void EventSchema::validate(const json::value& data, std::vector<FieldError>& errors) const {
  // std::regex (inside valijson) recurses once per character it matches: a
  // long string could overflow the stack, so it never meets one.
  if (uses_regex_ && longest_string(data) > max_regex_string) {
    errors.push_back({"data", "holds a string longer than " + std::to_string(max_regex_string) +
                                  " characters, the most this type's patterns and formats check"});
    return;
  }
  // A validator caches the regexes of pattern constraints; one per thread.
  thread_local valijson::Validator validator;
  valijson::adapters::BoostJsonAdapter target(data);
  // First without collecting errors: it stops at the first failure, while
  // collecting visits everything (an array of 10,000 bad items is 20,000 errors).
  if (validator.validate(*schema_, target, nullptr)) return;
  valijson::ValidationResults results;
  validator.validate(*schema_, target, &results);
  std::vector<valijson::ValidationResults::Error> all;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) all.push_back(std::move(error));
  // Keep the most specific errors: drop one whose place encloses another's.
  // Sorted by place, an enclosing place comes right before those it encloses.
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.context < b.context; });
  for (std::size_t i = 0; i < all.size() && errors.size() < max_reported_errors; ++i) {
    std::size_t next = i + 1;
    while (next < all.size() && all[next].context == all[i].context) ++next;
    if (next < all.size() && is_prefix(all[i].context, all[next].context)) continue;
    errors.push_back({field_of(all[i].context), all[i].description});
  }
}

}  // namespace daisy::events
