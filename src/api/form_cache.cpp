#include "api/form_cache.h"

#include <boost/json/parse.hpp>

namespace daisy::api {

Result<std::shared_ptr<const CompiledForm>> compile_form(const FormRow& row) {
  boost::system::error_code ec;
  auto value = boost::json::parse(row.definition, ec);
  if (ec) return Status::internal("stored form " + row.id + " is not valid JSON");
  auto definition = definition_from_json(value);
  if (!definition) return Status::internal("stored form " + row.id + " no longer parses");
  auto rules = RuleSet::compile(definition->rules);
  if (!std::holds_alternative<std::shared_ptr<RuleSet>>(rules)) {
    return Status::internal("stored rules of form " + row.id + " no longer compile");
  }
  auto compiled = std::make_shared<CompiledForm>();
  compiled->form.id = row.id;
  compiled->form.version = row.version;
  compiled->form.created_at = row.created_at;
  compiled->form.updated_at = row.updated_at;
  compiled->form.archived_at = row.archived_at;
  compiled->form.definition = std::move(*definition);
  compiled->rules = std::get<std::shared_ptr<RuleSet>>(rules);
  return std::shared_ptr<const CompiledForm>(std::move(compiled));
}

Result<std::shared_ptr<const CompiledForm>> FormCache::get(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    if (auto it = forms_.find(id); it != forms_.end()) return it->second;
  }
  auto row = store_.get_form(id);
  if (!row.is_ok()) return row.status();
  auto compiled = compile_form(row.value());
  if (compiled.is_ok()) put(compiled.value());
  return compiled;
}

void FormCache::put(std::shared_ptr<const CompiledForm> form) {
  std::lock_guard lock(mu_);
  auto& slot = forms_[form->form.id];
  if (slot && (slot->form.version > form->form.version ||
               (slot->form.archived() && !form->form.archived()))) {
    return;
  }
  if (forms_.size() > max_entries) {
    forms_.clear();  // crude but bounded; entries reload on demand
    forms_[form->form.id] = std::move(form);
    return;
  }
  slot = std::move(form);
}

}  // namespace daisy::api
