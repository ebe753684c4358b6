#pragma once
// A script integration's config, and the rules of the script kind.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <string>
#include <vector>

#include "domain/integration.h"
#include "script/script.h"

namespace daisy::jobs {

struct ScriptConfig final : KindConfig {
  std::string code;                        // Lua 5.4 defining function run(record, ctx)
  boost::json::value data;                 // ctx.data: lookup tables (null: none)
  std::vector<std::string> allowed_hosts;  // what ctx.http.request may reach, lower-cased
  int timeout_ms = 10000;                  // a run's wall time (sync default: 1000)
  int max_instructions = 1'000'000;
  int max_memory_mb = 16;
  std::shared_ptr<const Script> script;  // compiled from code

  boost::json::object to_json() const override;
};

// Sync or async; no secret; config {code, data, allowed_hosts, timeout_ms,
// max_instructions, max_memory_mb}.
IntegrationKindRules script_kind_rules();

}  // namespace daisy::jobs
