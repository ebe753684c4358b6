#include "forms/form_cache.h"

#include <boost/json/parse.hpp>

namespace daisy::forms {

Result<Form> form_from_row(const FormRow& row) {
  boost::system::error_code ec;
  auto value = boost::json::parse(row.definition, ec);
  if (ec) return Status::internal("stored form " + row.id + " is not valid JSON");
  auto definition = definition_from_json(value);
  if (!definition) return Status::internal("stored form " + row.id + " no longer parses");
  Form form;
  form.id = row.id;
  form.version = row.version;
  form.created_at = row.created_at;
  form.updated_at = row.updated_at;
  form.archived_at = row.archived_at;
  form.definition = std::move(*definition);
  return form;
}

Result<std::shared_ptr<const CompiledForm>> compile_form(const FormRow& row, const RuleLimits& limits) {
  auto form = form_from_row(row);
  if (!form.is_ok()) return form.status();
  auto rules = RuleSet::compile(form.value().definition.rules, limits);
  if (!std::holds_alternative<std::shared_ptr<RuleSet>>(rules)) {
    return Status::internal("stored rules of form " + row.id + " no longer compile");
  }
  auto compiled = std::make_shared<CompiledForm>();
  compiled->form = std::move(form.value());
  compiled->rules = std::get<std::shared_ptr<RuleSet>>(rules);
  return std::shared_ptr<const CompiledForm>(std::move(compiled));
}

Result<std::shared_ptr<const CompiledForm>> FormCache::get(const std::string& id) {
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    if (auto it = forms_.find(id); it != forms_.end()) return it->second;
    generation = generation_;
  }
  auto row = store_.get_form(id);
  if (!row.is_ok()) return row.status();
  auto compiled = compile_form(row.value(), limits_);
  if (!compiled.is_ok()) return compiled;
  std::lock_guard lock(mu_);
  if (generation == generation_) put_locked(compiled.value());
  return compiled;
}

void FormCache::clear() {
  std::lock_guard lock(mu_);
  forms_.clear();
  ++generation_;
}

void FormCache::put(std::shared_ptr<const CompiledForm> form) {
  std::lock_guard lock(mu_);
  put_locked(std::move(form));
}

void FormCache::put_locked(std::shared_ptr<const CompiledForm> form) {
  auto& slot = forms_[form->form.id];
  if (slot && (slot->form.version > form->form.version || (slot->form.archived() && !form->form.archived()))) {
    return;
  }
  if (forms_.size() > max_entries) {
    forms_.clear();  // crude but bounded; entries reload on demand
    forms_[form->form.id] = std::move(form);
    return;
  }
  slot = std::move(form);
}

}  // namespace daisy::forms
