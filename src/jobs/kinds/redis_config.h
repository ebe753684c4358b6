#pragma once
// A redis integration's config, and the rules of the redis kind.

#include <boost/json/object.hpp>

#include <memory>
#include <string>

#include "domain/integration.h"
#include "script/script.h"

namespace daisy::jobs {

struct RedisConfig final : KindConfig {
  std::string url;      // redis://[:password@]host[:port][/db]
  std::string channel;  // where jobs are published
  int callback_timeout_s = 600;
  std::string transform_code;               // Lua defining function transform(payload, ctx); "" for none
  std::shared_ptr<const Script> transform;  // compiled from transform_code

  boost::json::object to_json() const override;
};

// Async only (the microservice answers later, by callback); no secret (the
// callback carries a token of its own per attempt); config {url, channel,
// callback_timeout_s}.
IntegrationKindRules redis_kind_rules();

}  // namespace daisy::jobs
