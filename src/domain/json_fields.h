#pragma once
// Readers for the fields of a definition sent as a JSON object (providers,
// integrations): each checks one field and, when it is wrong, adds an error
// naming it (prefixed, e.g. "config.url").

#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/field_error.h"

namespace daisy {

// A string field: false (and an error) when present but not a string.
bool read_string(const boost::json::object& body, std::string_view key, std::string& out,
                 std::vector<FieldError>& errors, std::string_view prefix = "");

// An integer field within [lo, hi]; left unchanged when absent or wrong.
void read_int(const boost::json::object& body, std::string_view key, int lo, int hi, int& out,
              std::vector<FieldError>& errors, std::string_view prefix = "");

// A boolean field; left unchanged when absent or wrong.
void read_bool(const boost::json::object& body, std::string_view key, bool& out, std::vector<FieldError>& errors,
               std::string_view prefix = "");

// An object of header names to string values (at most 32): replaces `out`
// when present and valid.
void read_headers(const boost::json::object& body, std::string_view key,
                  std::vector<std::pair<std::string, std::string>>& out, std::vector<FieldError>& errors,
                  std::string_view prefix = "");

bool is_http_url(const std::string& url);

// Header names and values that cannot smuggle a second header or request.
bool is_header_name(std::string_view s);
bool is_header_value(std::string_view s);

// An error for each key of `body` not in `known`.
void reject_unknown_fields(const boost::json::object& body, const std::vector<std::string_view>& known,
                           std::vector<FieldError>& errors, std::string_view prefix = "");

}  // namespace daisy
