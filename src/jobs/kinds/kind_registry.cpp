// The registry of integration kinds. Adding a kind: its files in this folder
// (its config and rules, its ActionKind) and one entry in `kinds` below.
#include "jobs/kinds/kind_registry.h"

#include <vector>

#include "jobs/kinds/action_kind.h"
#include "jobs/kinds/redis_action.h"
#include "jobs/kinds/redis_config.h"
#include "jobs/kinds/script_action.h"
#include "jobs/kinds/script_config.h"
#include "jobs/kinds/sheets_action.h"
#include "jobs/kinds/sheets_config.h"
#include "jobs/kinds/sms_action.h"
#include "jobs/kinds/sms_config.h"
#include "jobs/kinds/webhook_action.h"
#include "jobs/kinds/webhook_config.h"

namespace daisy::jobs {
namespace {

struct KindEntry {
  IntegrationKindRules rules;
  std::unique_ptr<ActionKind> (*make)(const ActionKindServices& services);
};

template <class Action>
std::unique_ptr<ActionKind> make(const ActionKindServices& services) {
  return std::make_unique<Action>(services);
}

const std::vector<KindEntry>& kinds() {
  static const std::vector<KindEntry> entries{
      {webhook_kind_rules(), make<WebhookAction>},
      {redis_kind_rules(), make<RedisAction>},
      {sheets_kind_rules(), make<SheetsAction>},
      {script_kind_rules(), make<ScriptAction>},
      {sms_kind_rules(), make<SmsAction>},
  };
  return entries;
}

}  // namespace

IntegrationKinds integration_kinds() {
  static const auto rules = [] {
    std::vector<IntegrationKindRules> list;
    for (const KindEntry& entry : kinds()) list.push_back(entry.rules);
    return list;
  }();
  return rules;
}

ActionKinds make_action_kinds(const ActionKindServices& services) {
  ActionKinds made;
  for (const KindEntry& entry : kinds()) made.emplace(entry.rules.type, entry.make(services));
  return made;
}

}  // namespace daisy::jobs
