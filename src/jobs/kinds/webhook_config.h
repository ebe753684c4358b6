#pragma once
// A webhook integration's config, and the rules of the webhook kind.

#include <boost/json/object.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "domain/integration.h"
#include "script/script.h"

namespace daisy::jobs {

struct WebhookConfig final : KindConfig {
  std::string url;  // http:// or https://
  std::vector<std::pair<std::string, std::string>> headers;
  int timeout_ms = 15000;                   // async default; a sync webhook's default is 2000
  int max_per_second = 0;                   // 0: no limit
  int max_in_flight = 0;                    // 0: the runner's own limit
  std::string transform_code;               // Lua defining function transform(payload, ctx); "" for none
  std::shared_ptr<const Script> transform;  // compiled from transform_code

  boost::json::object to_json() const override;
};

// Can be sync; signs with a secret; config {url, headers, timeout_ms,
// max_per_second, max_in_flight}.
IntegrationKindRules webhook_kind_rules();

}  // namespace daisy::jobs
