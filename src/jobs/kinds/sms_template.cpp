#include "jobs/kinds/sms_template.h"

#include <fmt/format.h>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>

namespace daisy::jobs {
namespace {
namespace json = boost::json;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// The dotted names of a path; empty when it is not one.
std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> names;
  while (true) {
    std::size_t dot = path.find('.');
    std::string_view name = path.substr(0, dot);
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_name_char)) return {};
    names.emplace_back(name);
    if (dot == std::string_view::npos) return names;
    path.remove_prefix(dot + 1);
  }
}

const json::value* step(const json::value& at, const std::string& name) {
  if (const auto* o = at.if_object()) return o->if_contains(name);
  if (const auto* a = at.if_array()) {
    std::size_t index = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), index);
    if (ec != std::errc() || end != name.data() + name.size() || index >= a->size()) return nullptr;
    return &(*a)[index];
  }
  return nullptr;
}

std::string value_text(const json::value& v) {
  if (const auto* s = v.if_string()) return std::string(*s);
  if (const auto* d = v.if_double()) return fmt::format("{}", *d);  // the shortest that reads back: 2.5, not 2.5E0
  return json::serialize(v);
}

std::string joined(const std::vector<std::string>& path) {
  std::string out;
  for (const auto& name : path) out += (out.empty() ? "" : ".") + name;
  return out;
}

}  // namespace

std::variant<SmsTemplate, std::string> SmsTemplate::parse(std::string_view text) {
  SmsTemplate t;
  t.text_ = std::string(text);
  std::size_t at = 0;
  while (true) {
    std::size_t open = text.find("{{", at);
    Part part;
    part.literal = std::string(text.substr(at, open == std::string_view::npos ? std::string_view::npos : open - at));
    if (open == std::string_view::npos) {
      t.parts_.push_back(std::move(part));
      return t;
    }
    std::size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) return "{{ at character " + std::to_string(open) + " is never closed by }}";
    std::string_view inside = text.substr(open + 2, close - open - 2);
    if (inside.find("{{") != std::string_view::npos) {
      return "{{ at character " + std::to_string(open) + " holds another {{";
    }
    std::size_t bar = inside.find('|');
    std::string_view path = trim(inside.substr(0, bar));
    part.path = split_path(path);
    if (part.path.empty()) {
      return "{{" + std::string(inside) +
             "}} must name a dotted path (letters, digits, _ and -), e.g. {{answers.name}}";
    }
    if (bar != std::string_view::npos) part.fallback = std::string(trim(inside.substr(bar + 1)));
    t.parts_.push_back(std::move(part));
    at = close + 2;
  }
}

std::variant<std::string, std::string> SmsTemplate::render(const json::value& record, std::string_view alias) const {
  std::string out;
  for (const Part& part : parts_) {
    out += part.literal;
    if (part.path.empty()) continue;
    const json::value* v = &record;
    std::size_t first = part.path.front() == alias ? 1 : 0;
    for (std::size_t i = first; v && i < part.path.size(); ++i) v = step(*v, part.path[i]);
    if (v && !v->is_null()) {
      out += value_text(*v);
    } else if (part.fallback) {
      out += *part.fallback;
    } else {
      return std::variant<std::string, std::string>(
          std::in_place_index<1>, joined(part.path) + " is missing from the record (and has no default)");
    }
  }
  return std::variant<std::string, std::string>(std::in_place_index<0>, std::move(out));
}

bool is_e164(std::string_view number) {
  if (number.size() < 3 || number.size() > 16 || number[0] != '+' || number[1] < '1' || number[1] > '9') return false;
  return std::all_of(number.begin() + 1, number.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::size_t count_characters(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace daisy::jobs
