#include "http/json_body.h"

#include <fmt/format.h>
#include <boost/json/array.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/string.hpp>

#include <vector>

namespace daisy::http {
namespace {

constexpr std::size_t max_pooled_parsers = 8;
// Big documents leave big buffers behind; parsers above this capacity are not kept.
constexpr std::size_t max_pooled_capacity = 1 << 20;

std::vector<std::unique_ptr<simdjson::dom::parser>>& pool() {
  thread_local std::vector<std::unique_ptr<simdjson::dom::parser>> parsers;
  return parsers;
}

std::unique_ptr<simdjson::dom::parser> acquire_parser() {
  auto& p = pool();
  if (p.empty()) return std::make_unique<simdjson::dom::parser>();
  auto parser = std::move(p.back());
  p.pop_back();
  return parser;
}

Response empty_body() {
  return problem(400, "malformed-json", "The request body is empty; a JSON document is required.");
}

Response malformed_at(std::string_view text, std::size_t offset, const std::string& reason) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return problem(400, "malformed-json",
                 fmt::format("Malformed JSON at line {}, column {} (byte {}): {}.", line, column, offset, reason));
}

}  // namespace

std::variant<boost::json::value, Response> parse_json_value(std::string_view text, boost::json::storage_ptr storage) {
  if (text.empty()) return empty_body();
  boost::json::stream_parser parser;
  parser.reset(std::move(storage));
  boost::system::error_code ec;
  std::size_t consumed = parser.write_some(text.data(), text.size(), ec);
  if (!ec && consumed < text.size()) {
    // write_some stops after one complete value: anything left is extra.
    ec = parser.done() ? boost::system::error_code(boost::json::error::extra_data)
                       : boost::system::error_code(boost::json::error::incomplete);
  }
  if (!ec) parser.finish(ec);
  if (ec) return malformed_at(text, consumed, ec.message());
  return parser.release();
}

namespace {

// simdjson reports what went wrong but not where; Boost.JSON's parser stops at
// the first bad byte, which gives a position a person can use.
Response malformed_json(std::string_view text, simdjson::error_code code) {
  auto parsed = parse_json_value(text, {});
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  return malformed_at(text, text.size(), simdjson::error_message(code));
}

}  // namespace

ParsedJson::ParsedJson(std::unique_ptr<simdjson::dom::parser> parser, simdjson::dom::element root)
    : parser_(std::move(parser)), root_(root) {}

ParsedJson::~ParsedJson() {
  if (!parser_) return;
  auto& p = pool();
  if (p.size() < max_pooled_parsers && parser_->capacity() <= max_pooled_capacity) {
    p.push_back(std::move(parser_));
  }
}

std::variant<ParsedJson, Response> parse_json(std::string_view text) {
  auto parser = acquire_parser();
  simdjson::dom::element root;
  auto error = parser->parse(text.data(), text.size(), true).get(root);
  if (error) {
    ParsedJson recycle(std::move(parser), {});  // back to the pool under the usual size check
    return malformed_json(text, error);
  }
  return ParsedJson(std::move(parser), root);
}

std::variant<ParsedJson, Response> parse_json_object_body(const Request& req) {
  auto parsed = parse_json(req.body);
  if (auto* doc = std::get_if<ParsedJson>(&parsed)) {
    if (!doc->root().is_object()) {
      return problem(422, "validation-failed", "The request body must be a JSON object.", {{"", "must be an object"}});
    }
  }
  return parsed;
}

std::variant<boost::json::object, Response> parse_body_object(const Request& req) {
  // One arena per document: the many small allocations of a parse are one.
  auto parsed = parse_json_value(req.body, boost::json::make_shared_resource<boost::json::monotonic_resource>());
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  auto& value = std::get<boost::json::value>(parsed);
  if (!value.is_object()) {
    return problem(422, "validation-failed", "The request body must be a JSON object.", {{"", "must be an object"}});
  }
  return std::move(value.get_object());
}

std::optional<std::string_view> get_string(simdjson::dom::object obj, std::string_view key, bool required,
                                           std::vector<FieldError>& errors, std::string_view path_prefix) {
  std::string field = std::string(path_prefix) + std::string(key);
  simdjson::dom::element value;
  if (obj[key].get(value)) {
    if (required) errors.push_back({field, "is required"});
    return std::nullopt;
  }
  std::string_view s;
  if (value.get(s)) {
    errors.push_back({field, "must be a string"});
    return std::nullopt;
  }
  return s;
}

}  // namespace daisy::http
