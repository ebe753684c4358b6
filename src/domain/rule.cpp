#include "domain/rule.h"

#include <boost/json/object.hpp>

namespace daisy {
namespace json = boost::json;

namespace {
constexpr std::size_t max_check_length = 4000;
constexpr std::size_t max_text = 1000;
}  // namespace

json::object Rule::to_json() const {
  return {{"name", name}, {"check", check}, {"message", message}, {"on_fail", reject ? "reject" : "flag"}};
}

std::optional<Rule> parse_rule(const json::value& input, const std::string& path, std::vector<FieldError>& errors) {
  std::size_t before = errors.size();
  if (!input.is_object()) {
    errors.push_back({path, "must be an object"});
    return std::nullopt;
  }
  const auto& o = input.get_object();
  Rule r;
  auto text = [&](std::string_view key, std::size_t limit, bool required, std::string& out) {
    auto it = o.find(key);
    if (it == o.end() || it->value().is_null()) {
      if (required) errors.push_back({path + "." + std::string(key), "is required"});
      return;
    }
    if (!it->value().is_string() || it->value().get_string().empty() || it->value().get_string().size() > limit) {
      errors.push_back(
          {path + "." + std::string(key), "must be a non-empty string of at most " + std::to_string(limit) + " bytes"});
      return;
    }
    out = std::string(it->value().get_string());
  };
  text("name", max_text, true, r.name);
  text("check", max_check_length, true, r.check);
  text("message", max_text, true, r.message);
  if (auto it = o.find("on_fail"); it != o.end() && !it->value().is_null()) {
    if (it->value() == "reject") {
      r.reject = true;
    } else if (it->value() != "flag") {
      errors.push_back({path + ".on_fail", "must be \"flag\" or \"reject\""});
    }
  }
  for (const auto& field : o) {
    std::string_view k = field.key();
    if (k != "name" && k != "check" && k != "message" && k != "on_fail") {
      errors.push_back({path + "." + std::string(k), "is not a field of a rule"});
    }
  }
  if (errors.size() != before) return std::nullopt;
  return r;
}

}  // namespace daisy
