#include "domain/app.h"

#include "util/ascii.h"
#include "util/utf8.h"

namespace daisy {
namespace {

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

// Splits "scheme://host[:port]" at "://"; false when it has no such shape.
bool split_origin(std::string_view origin, std::string_view& scheme, std::string_view& rest) {
  auto sep = origin.find("://");
  if (sep == std::string_view::npos) return false;
  scheme = origin.substr(0, sep);
  rest = origin.substr(sep + 3);
  return true;
}

}  // namespace

std::string check_app_name(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > 200) return "must be at most 200 bytes";
  if (has_hidden_control(name)) return "must not contain control or bidirectional formatting characters";
  return {};
}

std::string check_origin_pattern(std::string_view pattern) {
  if (pattern.size() > 255) return "must be at most 255 characters";
  std::string_view scheme, rest;
  if (!split_origin(pattern, scheme, rest) || !(iequals(scheme, "http") || iequals(scheme, "https"))) {
    return "must start with http:// or https://";
  }
  std::string_view host = rest.substr(0, rest.find(':'));
  if (rest.size() > host.size()) {
    std::string_view port = rest.substr(host.size() + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) {
      return "must end with the host or host:port (no path, no trailing slash)";
    }
  }
  if (host.substr(0, 2) == "*.") host.remove_prefix(2);
  if (host.empty() || host.front() == '.' || host.back() == '.') return "must name a host";
  for (char c : host) {
    if (!is_host_char(c)) return "must end with the host or host:port (no path, no trailing slash)";
  }
  return {};
}

bool origin_matches(std::string_view pattern, std::string_view origin) {
  std::string_view pattern_scheme, pattern_rest, scheme, rest;
  if (!split_origin(pattern, pattern_scheme, pattern_rest) || !split_origin(origin, scheme, rest)) return false;
  if (!iequals(pattern_scheme, scheme)) return false;
  if (pattern_rest.substr(0, 2) != "*.") return iequals(pattern_rest, rest);
  std::string_view suffix = pattern_rest.substr(1);  // ".example.com[:port]"
  if (rest.size() <= suffix.size()) return false;
  std::string_view labels = rest.substr(0, rest.size() - suffix.size());  // what "*" stands for
  return iequals(rest.substr(labels.size()), suffix) && labels.front() != '.' &&
         labels.find_first_of(":/") == std::string_view::npos;
}

std::string join_words(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto space = text.find(' ');
    if (space != 0) out.emplace_back(text.substr(0, space));
    if (space == std::string_view::npos) break;
    text.remove_prefix(space + 1);
  }
  return out;
}

}  // namespace daisy
