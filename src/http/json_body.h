#pragma once
// Parsing of JSON request bodies with simdjson's validating DOM parser.
// Parsers are pooled: a ParsedJson keeps its parser (and so its elements valid)
// for as long as it lives, across any co_await in the handler.

#include <simdjson.h>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "http/problem.h"
#include "http/request.h"

namespace daisy::http {

class ParsedJson {
 public:
  ParsedJson(std::unique_ptr<simdjson::dom::parser> parser, simdjson::dom::element root);
  ParsedJson(ParsedJson&&) noexcept = default;
  ParsedJson& operator=(ParsedJson&&) noexcept = default;
  ~ParsedJson();  // returns the parser to this thread's pool

  simdjson::dom::element root() const { return root_; }

 private:
  std::unique_ptr<simdjson::dom::parser> parser_;
  simdjson::dom::element root_;
};

// Parses text as one JSON document. On failure returns a 400 problem naming the
// line, column and byte offset of the first error.
std::variant<ParsedJson, Response> parse_json(std::string_view text);

// Parses text as one JSON document with Boost.JSON into storage; on failure,
// a 400 problem naming the line, column and byte offset.
std::variant<boost::json::value, Response> parse_json_value(std::string_view text, boost::json::storage_ptr storage);

// Parses the request body, which must be a JSON object (else 400/422 problems).
std::variant<ParsedJson, Response> parse_json_object_body(const Request& req);

// Parses the body as a JSON object into a Boost.JSON object (400/422 problems
// otherwise), for handlers that keep or edit the document. Parsed by Boost.JSON
// straight into an arena owned by the object: converting from simdjson cost
// more than parsing again.
std::variant<boost::json::object, Response> parse_body_object(const Request& req);

// Field accessors used by handlers; they append to errors and return nullopt on mismatch.
std::optional<std::string_view> get_string(simdjson::dom::object obj, std::string_view key, bool required,
                                           std::vector<FieldError>& errors, std::string_view path_prefix = {});

}  // namespace daisy::http
