#include "domain/form.h"

#include <fmt/format.h>
#include <boost/json/array.hpp>

#include <set>

namespace daisy {
namespace json = boost::json;

namespace {

constexpr std::size_t max_questions = 500;
constexpr std::size_t max_rules = 100;
constexpr std::size_t max_title = 500;
constexpr std::size_t max_description = 10'000;

const std::set<std::string_view> definition_fields = {"title", "description", "metadata", "questions", "rules"};

void read_title(const json::object& o, FormDefinition& def, bool required, std::vector<FieldError>& errors) {
  auto it = o.find("title");
  if (it == o.end()) {
    if (required) errors.push_back({"title", "is required"});
    return;
  }
  if (!it->value().is_string() || it->value().get_string().empty() || it->value().get_string().size() > max_title) {
    errors.push_back({"title", "must be a non-empty string of at most 500 bytes"});
    return;
  }
  def.title = std::string(it->value().get_string());
}

void read_description(const json::object& o, FormDefinition& def, std::vector<FieldError>& errors) {
  auto it = o.find("description");
  if (it == o.end()) return;
  if (it->value().is_null()) {
    def.description.clear();
  } else if (!it->value().is_string() || it->value().get_string().size() > max_description) {
    errors.push_back({"description", "must be a string of at most 10000 bytes"});
  } else {
    def.description = std::string(it->value().get_string());
  }
}

void read_metadata(const json::object& o, FormDefinition& def, std::vector<FieldError>& errors) {
  auto it = o.find("metadata");
  if (it == o.end()) return;
  if (it->value().is_null()) {
    def.metadata = nullptr;
  } else if (!it->value().is_object()) {
    errors.push_back({"metadata", "must be an object"});
  } else {
    def.metadata = it->value();
  }
}

void read_questions(const json::value& v, FormDefinition& def, std::vector<FieldError>& errors) {
  if (!v.is_array()) {
    errors.push_back({"questions", "must be an array"});
    return;
  }
  const auto& arr = v.get_array();
  if (arr.size() > max_questions) {
    errors.push_back({"questions", "must have at most 500 questions"});
    return;
  }
  def.questions.clear();
  std::set<std::string> keys;
  std::size_t i = 0;
  for (const auto& item : arr) {
    std::string path = fmt::format("questions[{}]", i++);
    auto q = parse_question(item, path, errors);
    if (!q) continue;
    if (!keys.insert(q->key).second) {
      errors.push_back({path + ".key", "duplicates the key of an earlier question"});
      continue;
    }
    def.questions.push_back(std::move(*q));
  }
}

void read_rules(const json::value& v, FormDefinition& def, std::vector<FieldError>& errors) {
  if (!v.is_array()) {
    errors.push_back({"rules", "must be an array"});
    return;
  }
  const auto& arr = v.get_array();
  if (arr.size() > max_rules) {
    errors.push_back({"rules", "must have at most 100 rules"});
    return;
  }
  def.rules.clear();
  std::set<std::string> names;
  std::size_t i = 0;
  for (const auto& item : arr) {
    std::string path = fmt::format("rules[{}]", i++);
    auto r = parse_rule(item, path, errors);
    if (!r) continue;
    if (!names.insert(r->name).second) {
      errors.push_back({path + ".name", "duplicates the name of an earlier rule"});
      continue;
    }
    def.rules.push_back(std::move(*r));
  }
}

}  // namespace

const Question* FormDefinition::question(std::string_view key) const {
  for (const auto& q : questions) {
    if (q.key == key) return &q;
  }
  return nullptr;
}

json::object FormDefinition::to_json() const {
  json::object o;
  o["title"] = title;
  o["description"] = description;
  o["metadata"] = metadata.is_object() ? metadata : json::value(json::object());
  json::array qs;
  for (const auto& q : questions) qs.push_back(q.to_json());
  o["questions"] = std::move(qs);
  json::array rs;
  for (const auto& r : rules) rs.push_back(r.to_json());
  o["rules"] = std::move(rs);
  return o;
}

json::object Form::to_json() const {
  json::object o = definition.to_json();
  o["id"] = id;
  o["version"] = version;
  o["status"] = archived() ? "archived" : "active";
  o["created_at"] = created_at;
  o["updated_at"] = updated_at;
  if (archived()) {
    o["archived_at"] = archived_at;
  } else {
    o["archived_at"] = nullptr;
  }
  return o;
}

void check_questions(const std::vector<Question>& questions, std::vector<FieldError>& errors) {
  if (questions.size() > max_questions) errors.push_back({"questions", "must have at most 500 questions"});
  std::set<std::string_view> keys;
  for (std::size_t i = 0; i < questions.size(); ++i) {
    if (!keys.insert(questions[i].key).second) {
      errors.push_back({fmt::format("questions[{}].key", i), "duplicates the key of an earlier question"});
    }
  }
}

std::variant<FormDefinition, std::vector<FieldError>> parse_form_definition(const json::object& body) {
  std::vector<FieldError> errors;
  FormDefinition def;
  read_title(body, def, true, errors);
  read_description(body, def, errors);
  read_metadata(body, def, errors);
  if (auto it = body.find("questions"); it == body.end()) {
    errors.push_back({"questions", "is required"});
  } else {
    read_questions(it->value(), def, errors);
  }
  if (auto it = body.find("rules"); it != body.end() && !it->value().is_null()) read_rules(it->value(), def, errors);
  for (const auto& field : body) {
    if (!definition_fields.count(field.key())) errors.push_back({std::string(field.key()), "is not a field of a form"});
  }
  if (!errors.empty()) return errors;
  return def;
}

std::variant<FormDefinition, std::vector<FieldError>> patch_form_definition(const FormDefinition& current,
                                                                            const json::object& patch, bool& changed) {
  std::vector<FieldError> errors;
  FormDefinition def = current;
  changed = false;
  read_title(patch, def, false, errors);
  read_description(patch, def, errors);
  read_metadata(patch, def, errors);
  if (auto it = patch.find("questions"); it != patch.end()) {
    read_questions(it->value(), def, errors);
    changed = true;
  }
  if (auto it = patch.find("rules"); it != patch.end()) {
    if (it->value().is_null()) {
      def.rules.clear();
    } else {
      read_rules(it->value(), def, errors);
    }
    changed = true;
  }
  for (const auto& field : patch) {
    if (!definition_fields.count(field.key())) errors.push_back({std::string(field.key()), "is not a field of a form"});
  }
  if (!errors.empty()) return errors;
  if (changed) {
    // Only a real change to questions or rules makes a new version.
    json::object before = current.to_json(), after = def.to_json();
    changed = before["questions"] != after["questions"] || before["rules"] != after["rules"];
  }
  return def;
}

std::vector<FieldError> check_answers(const FormDefinition& form, const json::object& answers) {
  std::vector<FieldError> errors;
  for (const auto& field : answers) {
    if (!form.question(field.key())) {
      errors.push_back({std::string(field.key()), "is not a question of this form"});
    }
  }
  for (const auto& q : form.questions) {
    auto it = answers.find(q.key);
    if (it == answers.end() || it->value().is_null()) {
      if (q.required) errors.push_back({q.key, "is required"});
      continue;
    }
    check_answer(q, it->value(), errors);
  }
  return errors;
}

std::optional<FormDefinition> definition_from_json(const json::value& stored) {
  if (!stored.is_object()) return std::nullopt;
  auto parsed = parse_form_definition(stored.get_object());
  if (auto* def = std::get_if<FormDefinition>(&parsed)) return std::move(*def);
  return std::nullopt;
}

}  // namespace daisy
