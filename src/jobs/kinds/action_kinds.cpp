#include "jobs/kinds/action_kind.h"
#include "jobs/kinds/redis_action.h"
#include "jobs/kinds/webhook_action.h"

namespace daisy::jobs {

std::string error_excerpt(std::string_view text) {
  constexpr std::size_t max_bytes = 500;
  if (text.size() <= max_bytes) return std::string(text);
  return std::string(text.substr(0, max_bytes)) + "...";
}

ActionKinds make_action_kinds(const ActionKindServices& services) {
  ActionKinds kinds;
  kinds.emplace("webhook", std::make_unique<WebhookAction>(services));
  kinds.emplace("redis", std::make_unique<RedisAction>(services));
  return kinds;
}

}  // namespace daisy::jobs
