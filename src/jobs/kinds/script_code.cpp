#include "jobs/kinds/script_code.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "domain/json_fields.h"
#include "jobs/kinds/redis_config.h"
#include "jobs/kinds/script_config.h"
#include "jobs/kinds/webhook_config.h"

namespace daisy::jobs {
namespace json = boost::json;

namespace {
constexpr std::size_t max_attempt_log_bytes = 16 * 1024;
}  // namespace

std::shared_ptr<const Script> read_script_code(const json::object& config, std::string_view key, std::string entry,
                                               bool required, json::value data, ScriptLimits limits,
                                               std::vector<FieldError>& errors) {
  std::string field = "config." + std::string(key);
  std::string code;
  if (!read_string(config, key, code, errors, "config.")) return nullptr;
  if (code.empty()) {
    if (required || config.contains(key)) {
      errors.push_back({field, "is required: Lua 5.4 code defining function " + entry + "(...)"});
    }
    return nullptr;
  }
  if (code.size() > max_script_code_bytes) {
    errors.push_back({field, "is longer than 256 KiB"});
    return nullptr;
  }
  auto compiled = Script::compile(std::move(code), entry, std::move(data), limits);
  if (auto* error = std::get_if<std::string>(&compiled)) {
    errors.push_back({field, "does not compile: " + *error});
    return nullptr;
  }
  return std::get<std::shared_ptr<const Script>>(std::move(compiled));
}

bool read_transform(const json::object& config, std::string& code, std::shared_ptr<const Script>& transform,
                    std::vector<FieldError>& errors) {
  if (!config.contains("transform")) return true;
  ScriptLimits limits;
  limits.time = std::chrono::milliseconds(1000);
  limits.max_http_calls = 0;
  transform = read_script_code(config, "transform", "transform", false, nullptr, limits, errors);
  if (!transform) return false;
  code = std::string(config.at("transform").get_string());
  return true;
}

const Script* script_of(const IntegrationDefinition& definition) {
  if (const auto* s = definition.config_as<ScriptConfig>()) return s->script.get();
  if (const auto* w = definition.config_as<WebhookConfig>()) return w->transform.get();
  if (const auto* r = definition.config_as<RedisConfig>()) return r->transform.get();
  return nullptr;
}

TransformOutcome apply_transform(const Script& transform, std::string_view payload, const ScriptCall& call) {
  TransformOutcome outcome;
  json::error_code ec;
  json::value record = json::parse(payload, ec);
  if (ec) {
    outcome.run.error = "the payload is not JSON";
    return outcome;
  }
  outcome.run = transform.run(record, call);
  if (!outcome.run.ok) return outcome;
  outcome.skipped = outcome.run.output.is_null();
  if (!outcome.skipped) outcome.payload = json::serialize(outcome.run.output);
  return outcome;
}

std::string attempt_log(const ScriptRun& run) {
  std::string log;
  for (const auto& line : run.logs) {
    if (log.size() + line.size() + 1 > max_attempt_log_bytes) break;
    log.append(line).push_back('\n');
  }
  return log;
}

}  // namespace daisy::jobs
