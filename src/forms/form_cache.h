#pragma once
// Forms as submissions need them: the parsed definition with its rules
// compiled, kept in memory and replaced whenever the form changes here.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "domain/form.h"
#include "script/rule_engine.h"
#include "store/form_store.h"

namespace daisy::forms {

struct CompiledForm {
  Form form;
  std::shared_ptr<const RuleSet> rules;
};

// Parses a stored form, without compiling its rules (for listings).
Result<Form> form_from_row(const FormRow& row);

// Parses a stored form and compiles its rules. internal when the stored
// definition no longer parses (it was checked when saved, so that is a bug).
Result<std::shared_ptr<const CompiledForm>> compile_form(const FormRow& row, const RuleLimits& limits = {});

class FormCache {
 public:
  explicit FormCache(FormStore& store, RuleLimits limits = {}) : store_(store), limits_(limits) {}

  // The budgets every form's rules get (compile with these).
  const RuleLimits& rule_limits() const { return limits_; }

  // From memory, else from the store. not_found when there is no such form.
  Result<std::shared_ptr<const CompiledForm>> get(const std::string& id);
  // Installs a form just written; an older version never replaces a newer one.
  void put(std::shared_ptr<const CompiledForm> form);
  // Forgets every form (another node changed some); they reload on demand.
  void clear();

 private:
  void put_locked(std::shared_ptr<const CompiledForm> form);

  static constexpr std::size_t max_entries = 10'000;
  FormStore& store_;
  RuleLimits limits_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const CompiledForm>> forms_;
  // Bumped by clear(): a form read from the store before a clear is not
  // installed after it.
  std::uint64_t generation_ = 0;
};

}  // namespace daisy::forms
