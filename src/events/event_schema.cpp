#include "events/event_schema.h"

#define VALIJSON_USE_EXCEPTIONS 1
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

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

void rewrite_formats(json::value& node, int depth) {
  if (depth > max_schema_depth) throw std::invalid_argument("the schema is nested too deeply");
  if (node.is_array()) {
    for (auto& item : node.get_array()) rewrite_formats(item, depth + 1);
    return;
  }
  if (!node.is_object()) return;
  auto& obj = node.get_object();
  for (auto& field : obj) rewrite_formats(field.value(), depth + 1);
  auto* format = obj.if_contains("format");
  if (!format || !format->is_string()) return;
  const char* pattern = pattern_for_format(format->get_string());
  if (!pattern) return;
  obj.erase("format");
  json::value& all_of = obj["allOf"];
  if (!all_of.is_array()) all_of = json::array();
  all_of.get_array().push_back(json::object{{"pattern", pattern}});
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

}  // namespace

EventSchema::~EventSchema() = default;

std::shared_ptr<const EventSchema> EventSchema::compile(const json::value& document) {
  if (!document.is_object()) throw std::invalid_argument("a schema must be a JSON object");
  json::value rewritten = document;
  rewrite_formats(rewritten, 0);
  std::shared_ptr<EventSchema> compiled(new EventSchema());
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
  // A validator caches the regexes of pattern constraints; one per thread.
  thread_local valijson::Validator validator;
  valijson::adapters::BoostJsonAdapter target(data);
  valijson::ValidationResults results;
  if (validator.validate(*schema_, target, &results)) return;
  std::vector<valijson::ValidationResults::Error> all;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) all.push_back(std::move(error));
  // Keep the most specific errors: drop one whose place encloses another's.
  for (std::size_t i = 0; i < all.size(); ++i) {
    bool encloses = false;
    for (std::size_t j = 0; j < all.size() && !encloses; ++j) encloses = is_prefix(all[i].context, all[j].context);
    if (!encloses) errors.push_back({field_of(all[i].context), all[i].description});
  }
}

}  // namespace daisy::events
