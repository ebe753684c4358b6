#include "domain/question.h"
#include "util/utf8.h"

#include <fmt/format.h>
#include <re2/re2.h>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <cmath>
#include <set>

#include "util/iso8601.h"

namespace daisy {
namespace json = boost::json;

namespace {

constexpr std::size_t max_key_length = 64;
constexpr std::size_t max_label_length = 1000;
constexpr std::size_t max_options = 1000;
constexpr std::size_t max_option_length = 500;
constexpr std::size_t max_pattern_length = 1000;
constexpr std::int64_t max_text_length = 100'000;

struct TypeName {
  QuestionType type;
  std::string_view name;
};
constexpr TypeName type_names[] = {
    {QuestionType::text, "text"},         {QuestionType::integer, "integer"},
    {QuestionType::number, "number"},     {QuestionType::boolean, "boolean"},
    {QuestionType::choice, "choice"},     {QuestionType::multi_choice, "multi_choice"},
    {QuestionType::date, "date"},         {QuestionType::datetime, "datetime"},
    {QuestionType::email, "email"},       {QuestionType::phone, "phone"},
    {QuestionType::geopoint, "geopoint"},
};

// The keys each type accepts beyond the common ones.
std::set<std::string_view> constraint_keys(QuestionType t) {
  switch (t) {
    case QuestionType::text:
      return {"min_length", "max_length", "pattern"};
    case QuestionType::integer:
    case QuestionType::number:
      return {"min", "max"};
    case QuestionType::choice:
      return {"options"};
    case QuestionType::multi_choice:
      return {"options", "min_selected", "max_selected"};
    default:
      return {};
  }
}

std::optional<double> as_number(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return std::nullopt;
}

// A non-negative integer constraint, e.g. min_length.
std::optional<std::int64_t> read_count(const json::object& o, std::string_view key, const std::string& path,
                                       std::vector<FieldError>& errors, std::int64_t limit) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  const json::value& v = it->value();
  std::optional<double> d = as_number(v);
  if (!d || *d != std::floor(*d) || *d < 0 || *d > static_cast<double>(limit)) {
    errors.push_back({path + "." + std::string(key), fmt::format("must be an integer from 0 to {}", limit)});
    return std::nullopt;
  }
  return static_cast<std::int64_t>(*d);
}

std::optional<double> read_bound(const json::object& o, std::string_view key, const std::string& path,
                                 std::vector<FieldError>& errors, bool integral) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  std::optional<double> d = as_number(it->value());
  // Integer bounds stay within ±2^53, where a double holds every integer exactly.
  constexpr double max_exact = 9007199254740992.0;
  if (!d || !std::isfinite(*d) || (integral && (*d != std::floor(*d) || std::fabs(*d) > max_exact))) {
    errors.push_back(
        {path + "." + std::string(key), integral ? "must be an integer between -2^53 and 2^53" : "must be a number"});
    return std::nullopt;
  }
  return d;
}

bool valid_email(std::string_view s) {
  if (s.size() > 254) return false;
  auto at = s.find('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || s.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  std::string_view domain = s.substr(at + 1);
  if (domain.size() < 3 || domain.find('.') == std::string_view::npos || domain.front() == '.' ||
      domain.back() == '.' || domain.find("..") != std::string_view::npos) {
    return false;
  }
  for (unsigned char c : s) {
    if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' || c == ';' || c == ':' ||
        c == '\\' || c == '"' || c == '[' || c == ']') {
      return false;
    }
  }
  return true;
}

bool valid_e164(std::string_view s) {
  if (s.size() < 3 || s.size() > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9') return false;
  for (std::size_t i = 2; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

std::string format_number(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<std::int64_t>(v));
  return fmt::format("{}", v);
}

}  // namespace

std::optional<QuestionType> parse_question_type(std::string_view name) {
  for (const auto& t : type_names) {
    if (t.name == name) return t.type;
  }
  return std::nullopt;
}

std::string_view question_type_name(QuestionType type) {
  for (const auto& t : type_names) {
    if (t.type == type) return t.name;
  }
  return "unknown";
}

bool is_valid_question_key(std::string_view key) {
  if (key.empty() || key.size() > max_key_length || key[0] < 'a' || key[0] > 'z') return false;
  for (char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

namespace {

// Reads the fields every question has into `q`, all but its type. Returns the type, or nullopt when it is missing or
// unknown (an error is then appended).
std::optional<QuestionType> read_common_fields(const json::object& o, const std::string& path, Question& q,
                                               std::vector<FieldError>& errors) {
  if (auto it = o.find("key"); it == o.end() || !it->value().is_string()) {
    errors.push_back({path + ".key", "is required and must be a string"});
  } else {
    q.key = std::string(it->value().get_string());
    if (!is_valid_question_key(q.key)) {
      errors.push_back({path + ".key", "must match [a-z][a-z0-9_]* and be at most 64 characters"});
    }
  }

  std::optional<QuestionType> type;
  if (auto it = o.find("type"); it == o.end() || !it->value().is_string()) {
    errors.push_back({path + ".type", "is required and must be a string"});
  } else {
    type = parse_question_type(it->value().get_string());
    if (!type) {
      errors.push_back({path + ".type",
                        "unknown type; use text, integer, number, boolean, choice, multi_choice, "
                        "date, datetime, email, phone or geopoint"});
    }
  }

  if (auto it = o.find("label"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_string() || it->value().get_string().size() > max_label_length) {
      errors.push_back({path + ".label", "must be a string of at most 1000 bytes"});
    } else {
      q.label = std::string(it->value().get_string());
    }
  }
  if (auto it = o.find("required"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_bool()) {
      errors.push_back({path + ".required", "must be true or false"});
    } else {
      q.required = it->value().get_bool();
    }
  }
  if (auto it = o.find("metadata"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_object()) {
      errors.push_back({path + ".metadata", "must be an object"});
    } else {
      q.metadata = it->value();
    }
  }
  return type;
}

// Appends an error for each field that is neither common to all questions nor a constraint of `type`.
void check_constraint_keys(const json::object& o, const std::string& path, QuestionType type,
                           std::vector<FieldError>& errors) {
  std::set<std::string_view> allowed = constraint_keys(type);
  for (const auto& field : o) {
    std::string_view k = field.key();
    if (k == "key" || k == "type" || k == "label" || k == "required" || k == "metadata") continue;
    if (!allowed.count(k)) {
      errors.push_back(
          {path + "." + std::string(k), fmt::format("is not a constraint of a {} question", question_type_name(type))});
    }
  }
}

// Reads the optional RE2 pattern of a text question; q.compiled_pattern stays unset when it does not compile.
void read_pattern(const json::object& o, const std::string& path, Question& q, std::vector<FieldError>& errors) {
  auto it = o.find("pattern");
  if (it == o.end() || it->value().is_null()) return;
  if (!it->value().is_string() || it->value().get_string().empty() ||
      it->value().get_string().size() > max_pattern_length) {
    errors.push_back({path + ".pattern", "must be a non-empty string of at most 1000 bytes"});
    return;
  }
  q.pattern = std::string(it->value().get_string());
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(1 << 20);
  auto re = std::make_shared<const RE2>(q.pattern, options);
  if (!re->ok()) {
    errors.push_back({path + ".pattern", "is not a valid regular expression (RE2 syntax): " + re->error()});
  } else {
    q.compiled_pattern = std::move(re);
  }
}

// Reads the counts min_key and max_key (each at most `limit`) into min and
// max; a min above the max is an error on min_key.
void read_count_range(const json::object& o, const std::string& path, std::string_view min_key,
                      std::string_view max_key, std::int64_t limit, std::optional<std::int64_t>& min,
                      std::optional<std::int64_t>& max, std::vector<FieldError>& errors) {
  min = read_count(o, min_key, path, errors, limit);
  max = read_count(o, max_key, path, errors, limit);
  if (min && max && *min > *max) {
    errors.push_back({path + "." + std::string(min_key), "must not be greater than " + std::string(max_key)});
  }
}

void read_text_constraints(const json::object& o, const std::string& path, Question& q,
                           std::vector<FieldError>& errors) {
  read_count_range(o, path, "min_length", "max_length", max_text_length, q.min_length, q.max_length, errors);
  read_pattern(o, path, q, errors);
}

// Reads min and max of an integer or number question; q.type must be set.
void read_bounds(const json::object& o, const std::string& path, Question& q, std::vector<FieldError>& errors) {
  bool integral = q.type == QuestionType::integer;
  q.min = read_bound(o, "min", path, errors, integral);
  q.max = read_bound(o, "max", path, errors, integral);
  if (q.min && q.max && *q.min > *q.max) errors.push_back({path + ".min", "must not be greater than max"});
}

// Reads the options of a choice or multi_choice question into q.options, leaving out each bad or repeated one.
void read_choice_options(const json::object& o, const std::string& path, Question& q, std::vector<FieldError>& errors) {
  auto it = o.find("options");
  if (it == o.end() || !it->value().is_array() || it->value().get_array().empty()) {
    errors.push_back({path + ".options", "a choice question needs a non-empty array of options"});
    return;
  }
  if (it->value().get_array().size() > max_options) {
    errors.push_back({path + ".options", "must have at most 1000 options"});
    return;
  }
  std::set<std::string> seen;
  std::size_t i = 0;
  for (const auto& opt : it->value().get_array()) {
    std::string opt_path = fmt::format("{}.options[{}]", path, i++);
    if (!opt.is_string() || opt.get_string().empty() || opt.get_string().size() > max_option_length) {
      errors.push_back({opt_path, "must be a non-empty string of at most 500 bytes"});
      continue;
    }
    std::string value(opt.get_string());
    if (!seen.insert(value).second) {
      errors.push_back({opt_path, "duplicates an earlier option"});
      continue;
    }
    q.options.push_back(std::move(value));
  }
}

// Reads min_selected and max_selected of a multi_choice question; q.options must be read first.
void read_selection_limits(const json::object& o, const std::string& path, Question& q,
                           std::vector<FieldError>& errors) {
  read_count_range(o, path, "min_selected", "max_selected", max_options, q.min_selected, q.max_selected, errors);
  if (q.min_selected && !q.options.empty() && *q.min_selected > static_cast<std::int64_t>(q.options.size())) {
    errors.push_back({path + ".min_selected", "must not exceed the number of options"});
  }
}

}  // namespace

std::optional<Question> parse_question(const json::value& input, const std::string& path,
                                       std::vector<FieldError>& errors) {
  const std::size_t errors_before = errors.size();
  if (!input.is_object()) {
    errors.push_back({path, "must be an object"});
    return std::nullopt;
  }
  const json::object& o = input.get_object();
  Question q;
  std::optional<QuestionType> type = read_common_fields(o, path, q, errors);
  if (!type) return std::nullopt;
  q.type = *type;

  check_constraint_keys(o, path, q.type, errors);
  switch (q.type) {
    case QuestionType::text:
      read_text_constraints(o, path, q, errors);
      break;
    case QuestionType::integer:
    case QuestionType::number:
      read_bounds(o, path, q, errors);
      break;
    case QuestionType::choice:
      read_choice_options(o, path, q, errors);
      break;
    case QuestionType::multi_choice:
      read_choice_options(o, path, q, errors);
      read_selection_limits(o, path, q, errors);
      break;
    default:
      break;
  }
  if (errors.size() != errors_before) return std::nullopt;
  return q;
}

json::object Question::to_json() const {
  json::object o;
  o["key"] = key;
  o["type"] = question_type_name(type);
  if (!label.empty()) o["label"] = label;
  o["required"] = required;
  if (metadata.is_object()) o["metadata"] = metadata;
  if (min_length) o["min_length"] = *min_length;
  if (max_length) o["max_length"] = *max_length;
  if (!pattern.empty()) o["pattern"] = pattern;
  auto bound = [&](const char* name, const std::optional<double>& v) {
    if (!v) return;
    if (type == QuestionType::integer) {
      o[name] = static_cast<std::int64_t>(*v);
    } else {
      o[name] = *v;
    }
  };
  bound("min", min);
  bound("max", max);
  if (type == QuestionType::choice || type == QuestionType::multi_choice) {
    json::array opts;
    for (const auto& opt : options) opts.push_back(json::string(opt));
    o["options"] = std::move(opts);
  }
  if (min_selected) o["min_selected"] = *min_selected;
  if (max_selected) o["max_selected"] = *max_selected;
  return o;
}

namespace {

// Each *_answer_error returns why an answer (present, not null) to its type of question fails, or nullopt when it
// passes.

std::optional<std::string> text_answer_error(const Question& q, const json::value& answer) {
  if (!answer.is_string()) return "must be a string";
  std::string_view s = answer.get_string();
  std::size_t n = utf8_length(s);
  if (q.min_length && static_cast<std::int64_t>(n) < *q.min_length) {
    return fmt::format("must be at least {} characters", *q.min_length);
  }
  if (q.max_length && static_cast<std::int64_t>(n) > *q.max_length) {
    return fmt::format("must be at most {} characters", *q.max_length);
  }
  if (s.size() > static_cast<std::size_t>(max_text_length) * 4) return "is too long";
  if (q.compiled_pattern && !RE2::FullMatch(re2::StringPiece(s.data(), s.size()), *q.compiled_pattern)) {
    return "does not match the pattern " + q.pattern;
  }
  return std::nullopt;
}

// For an integer or a number question.
std::optional<std::string> number_answer_error(const Question& q, const json::value& answer) {
  std::optional<double> d = as_number(answer);
  if (!d) return q.type == QuestionType::integer ? "must be an integer" : "must be a number";
  if (q.type == QuestionType::integer && (*d != std::floor(*d) || std::fabs(*d) > 9.007199254740992e15)) {
    return "must be an integer";
  }
  if (q.min && *d < *q.min) return "must be at least " + format_number(*q.min);
  if (q.max && *d > *q.max) return "must be at most " + format_number(*q.max);
  return std::nullopt;
}

std::optional<std::string> choice_answer_error(const Question& q, const json::value& answer) {
  if (!answer.is_string()) return "must be one of the options (a string)";
  std::string_view s = answer.get_string();
  for (const auto& opt : q.options) {
    if (opt == s) return std::nullopt;
  }
  return "is not one of the options";
}

std::optional<std::string> multi_choice_answer_error(const Question& q, const json::value& answer) {
  if (!answer.is_array()) return "must be an array of options";
  const auto& arr = answer.get_array();
  std::set<std::string_view> seen;
  for (const auto& v : arr) {
    if (!v.is_string()) return "must be an array of options (strings)";
    std::string_view s = v.get_string();
    bool known = false;
    for (const auto& opt : q.options) known = known || opt == s;
    if (!known) return fmt::format("'{}' is not one of the options", s.substr(0, 100));
    if (!seen.insert(s).second) return fmt::format("'{}' is selected twice", s.substr(0, 100));
  }
  auto n = static_cast<std::int64_t>(arr.size());
  if (q.min_selected && n < *q.min_selected) return fmt::format("select at least {}", *q.min_selected);
  if (q.max_selected && n > *q.max_selected) return fmt::format("select at most {}", *q.max_selected);
  return std::nullopt;
}

std::optional<std::string> geopoint_answer_error(const json::value& answer) {
  if (!answer.is_object()) return "must be an object {\"lat\", \"lon\"}";
  const auto& o = answer.get_object();
  auto lat_it = o.find("lat");
  auto lon_it = o.find("lon");
  if (o.size() != 2 || lat_it == o.end() || lon_it == o.end()) return "must be an object with exactly lat and lon";
  auto lat = as_number(lat_it->value());
  auto lon = as_number(lon_it->value());
  if (!lat || *lat < -90 || *lat > 90) return "lat must be a number from -90 to 90";
  if (!lon || *lon < -180 || *lon > 180) return "lon must be a number from -180 to 180";
  return std::nullopt;
}

// Why `answer` fails the checks of `q`, or nullopt when it passes.
std::optional<std::string> answer_error(const Question& q, const json::value& answer) {
  switch (q.type) {
    case QuestionType::text:
      return text_answer_error(q, answer);
    case QuestionType::integer:
    case QuestionType::number:
      return number_answer_error(q, answer);
    case QuestionType::boolean:
      if (!answer.is_bool()) return "must be true or false";
      return std::nullopt;
    case QuestionType::choice:
      return choice_answer_error(q, answer);
    case QuestionType::multi_choice:
      return multi_choice_answer_error(q, answer);
    case QuestionType::date:
      if (!answer.is_string() || !parse_date(answer.get_string())) return "must be a date YYYY-MM-DD";
      return std::nullopt;
    case QuestionType::datetime:
      if (!answer.is_string() || !parse_timestamp_ns(answer.get_string())) {
        return "must be an ISO 8601 date and time, e.g. 2024-05-01T09:30:00Z";
      }
      return std::nullopt;
    case QuestionType::email:
      if (!answer.is_string() || !valid_email(answer.get_string())) return "must be an email address";
      return std::nullopt;
    case QuestionType::phone:
      if (!answer.is_string() || !valid_e164(answer.get_string())) {
        return "must be a phone number in E.164 form, e.g. +14155552671";
      }
      return std::nullopt;
    case QuestionType::geopoint:
      return geopoint_answer_error(answer);
  }
  return std::nullopt;  // only for a value outside QuestionType
}

}  // namespace

void check_answer(const Question& q, const json::value& answer, std::vector<FieldError>& errors) {
  if (std::optional<std::string> reason = answer_error(q, answer)) errors.push_back({q.key, std::move(*reason)});
}

}  // namespace daisy
