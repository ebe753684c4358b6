#include "jobs/kinds/script_code.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <mutex>
#include <unordered_map>
#include <variant>

#include "domain/json_fields.h"
#include "jobs/kinds/redis_config.h"
#include "jobs/kinds/script_config.h"
#include "jobs/kinds/webhook_config.h"
#include "util/crypto.h"

namespace daisy::jobs {
namespace json = boost::json;

namespace {
constexpr std::size_t max_attempt_log_bytes = 16 * 1024;

// Compiled scripts by what makes them (code, entry, data, budgets), held
// weakly: a definition read again (each GET and listing, the registry's
// reloads) shares the Script of one still in use instead of compiling it
// and running its top level again (up to its time budget each).
std::variant<std::shared_ptr<const Script>, std::string> compile_shared(std::string code, const std::string& entry,
                                                                        json::value data, const ScriptLimits& limits) {
  static std::mutex mu;
  static std::unordered_map<std::string, std::weak_ptr<const Script>> compiled;
  std::string recipe = code;
  for (const std::string& part :
       {entry, json::serialize(data), std::to_string(limits.instructions), std::to_string(limits.memory_bytes),
        std::to_string(limits.time.count()), std::to_string(limits.max_http_calls),
        std::to_string(limits.max_log_lines), std::to_string(limits.max_output_bytes)}) {
    recipe.append(1, '\0').append(part);
  }
  std::string key = to_hex(bytes_of(sha256(recipe)));
  {
    std::lock_guard lock(mu);
    auto it = compiled.find(key);
    if (it != compiled.end()) {
      if (auto script = it->second.lock()) return script;
    }
  }
  auto made = Script::compile(std::move(code), entry, std::move(data), limits);
  if (auto* script = std::get_if<std::shared_ptr<const Script>>(&made)) {
    std::lock_guard lock(mu);
    if (compiled.size() >= 256) std::erase_if(compiled, [](const auto& kept) { return kept.second.expired(); });
    compiled[key] = *script;
  }
  return made;
}
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
  auto compiled = compile_shared(std::move(code), entry, std::move(data), limits);
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
