#include "http/router.h"

#include <algorithm>
#include <stdexcept>

namespace daisy::http {
namespace {

std::vector<std::string> split_pattern(std::string_view pattern) {
  std::vector<std::string> out;
  std::size_t i = 1;  // skip the leading '/'
  while (i <= pattern.size()) {
    std::size_t slash = pattern.find('/', i);
    if (slash == std::string_view::npos) slash = pattern.size();
    out.emplace_back(pattern.substr(i, slash - i));
    i = slash + 1;
  }
  return out;
}

bool is_param(const std::string& segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// Tries one pattern against the path; on success writes parameters into req.
bool match_pattern(const RoutePattern& p, std::string_view path, Request& req) {
  if (path.empty() || path[0] != '/') return false;
  std::size_t pos = 1;
  std::size_t params = 0;
  for (std::size_t s = 0; s < p.segments.size(); ++s) {
    if (pos > path.size()) return false;
    std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view segment = path.substr(pos, slash - pos);
    const std::string& expected = p.segments[s];
    if (is_param(expected)) {
      if (segment.empty() || params >= Request::max_params) return false;
      ++params;
    } else if (segment != expected) {
      return false;
    }
    pos = slash + 1;
  }
  if (pos <= path.size()) return false;  // path has more segments

  // Second pass only on success: decode parameters.
  pos = 1;
  req.param_count = 0;
  for (const auto& expected : p.segments) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    if (is_param(expected)) {
      std::string_view raw = path.substr(pos, slash - pos);
      auto& dst = req.params[req.param_count++];
      if (raw.find('%') == std::string_view::npos) {
        dst.assign(raw);
      } else {
        dst = percent_decode(raw, false);
      }
    }
    pos = slash + 1;
  }
  return true;
}

}  // namespace

void Router::add(Method method, std::string_view pattern, Access access, Handler handler, RouteOptions options) {
  if (pattern.empty() || pattern[0] != '/') throw std::invalid_argument("pattern must start with /");
  auto segments = split_pattern(pattern);
  if (std::count_if(segments.begin(), segments.end(), is_param) > static_cast<long>(Request::max_params)) {
    throw std::invalid_argument("pattern has more parameters than Request::max_params");
  }
  if (options.on_readers && !std::holds_alternative<SyncHandler>(handler)) {
    throw std::invalid_argument("only a synchronous handler can run on the readers");
  }
  RoutePattern* target = nullptr;
  for (auto& p : patterns_) {
    if (p.pattern == pattern) target = &p;
  }
  if (!target) {
    patterns_.push_back({std::string(pattern), split_pattern(pattern), {}, {}});
    target = &patterns_.back();
  }
  for (const auto& r : target->routes) {
    if (r.method == method) throw std::invalid_argument("duplicate route " + std::string(pattern));
  }
  target->routes.push_back({method, access, std::move(handler), std::move(options), labels_.size()});
  labels_.push_back(std::string(method_name(method)) + " " + std::string(pattern));
  std::string allow;
  for (const auto& r : target->routes) {
    if (!allow.empty()) allow += ", ";
    allow += method_name(r.method);
    if (r.method == Method::get) allow += ", HEAD";
  }
  target->allow = std::move(allow);
}

RouteMatch Router::match(Method method, std::string_view path, Request& req) const {
  Method wanted = method == Method::head ? Method::get : method;
  // A path may match several patterns (/x/batch and /x/{id}); the first one
  // with the method wins, else the first path match answers 405.
  const RoutePattern* first_path_match = nullptr;
  for (const auto& p : patterns_) {
    if (!match_pattern(p, path, req)) continue;
    for (const auto& r : p.routes) {
      if (r.method == wanted) return {&p, &r};
    }
    if (!first_path_match) first_path_match = &p;
  }
  if (first_path_match) match_pattern(*first_path_match, path, req);
  return {first_path_match, nullptr};
}

}  // namespace daisy::http
