#include "domain/json_fields.h"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <cstdint>

namespace daisy {
namespace json = boost::json;

namespace {

std::string path(std::string_view prefix, std::string_view key) { return std::string(prefix) + std::string(key); }

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

bool read_string(const json::object& body, std::string_view key, std::string& out, std::vector<FieldError>& errors,
                 std::string_view prefix) {
  const json::value* v = body.if_contains(key);
  if (!v) return false;
  if (!v->is_string()) {
    errors.push_back({path(prefix, key), "must be a string"});
    return false;
  }
  out = std::string(v->as_string());
  return true;
}

void read_int(const json::object& body, std::string_view key, int lo, int hi, int& out, std::vector<FieldError>& errors,
              std::string_view prefix) {
  const json::value* v = body.if_contains(key);
  if (!v) return;
  if (!v->is_int64() && !v->is_uint64()) {
    errors.push_back({path(prefix, key), "must be an integer"});
    return;
  }
  auto n =
      v->is_int64() ? v->as_int64() : static_cast<std::int64_t>(std::min<std::uint64_t>(v->as_uint64(), INT64_MAX));
  if (n < lo || n > hi) {
    errors.push_back({path(prefix, key), "must be between " + std::to_string(lo) + " and " + std::to_string(hi)});
    return;
  }
  out = static_cast<int>(n);
}

void read_bool(const json::object& body, std::string_view key, bool& out, std::vector<FieldError>& errors,
               std::string_view prefix) {
  const json::value* v = body.if_contains(key);
  if (!v) return;
  if (v->is_bool()) {
    out = v->as_bool();
  } else {
    errors.push_back({path(prefix, key), "must be true or false"});
  }
}

void read_headers(const json::object& body, std::string_view key, std::vector<std::pair<std::string, std::string>>& out,
                  std::vector<FieldError>& errors, std::string_view prefix) {
  const json::value* v = body.if_contains(key);
  if (!v) return;
  if (!v->is_object()) {
    errors.push_back({path(prefix, key), "must be an object of header names to string values"});
    return;
  }
  if (v->as_object().size() > 32) {
    errors.push_back({path(prefix, key), "may hold at most 32 headers"});
    return;
  }
  std::vector<std::pair<std::string, std::string>> headers;
  bool ok = true;
  for (const auto& h : v->as_object()) {
    std::string field = path(prefix, key) + "." + std::string(h.key());
    if (!is_header_name(h.key())) {
      errors.push_back({field, "is not a valid header name"});
      ok = false;
    } else if (!h.value().is_string() || !is_header_value(h.value().as_string())) {
      errors.push_back({field, "must be a string without control characters (at most 4096 bytes)"});
      ok = false;
    } else {
      headers.emplace_back(std::string(h.key()), std::string(h.value().as_string()));
    }
  }
  if (ok) out = std::move(headers);
}

bool is_http_url(const std::string& url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return false;
  auto scheme = parsed->scheme();
  return (scheme == "http" || scheme == "https") && !parsed->host().empty();
}

bool is_header_name(std::string_view s) {
  if (s.empty() || s.size() > 100) return false;
  return std::all_of(s.begin(), s.end(), is_token_char);
}

bool is_header_value(std::string_view s) {
  if (s.size() > 4096) return false;
  for (unsigned char c : s) {
    if (c < 0x20 && c != '\t') return false;
    if (c == 0x7f) return false;
  }
  return true;
}

void reject_unknown_fields(const json::object& body, const std::vector<std::string_view>& known,
                           std::vector<FieldError>& errors, std::string_view prefix) {
  for (const auto& field : body) {
    if (std::find(known.begin(), known.end(), field.key()) == known.end()) {
      errors.push_back({path(prefix, field.key()), "is not a known field"});
    }
  }
}

}  // namespace daisy
