#include "jobs/kinds/script_config.h"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>

#include "domain/json_fields.h"
#include "jobs/kinds/script_code.h"

namespace daisy::jobs {
namespace {
namespace json = boost::json;

constexpr std::size_t max_data_bytes = 1024 * 1024;
constexpr std::size_t max_allowed_hosts = 50;

bool is_host_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  return std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '.' || c == ':' || c == '[' || c == ']';
  });
}

void read_allowed_hosts(const json::object& config, std::vector<std::string>& out, std::vector<FieldError>& errors) {
  const json::value* hosts = config.if_contains("allowed_hosts");
  if (!hosts) return;
  if (!hosts->is_array() || hosts->get_array().size() > max_allowed_hosts) {
    errors.push_back({"config.allowed_hosts", "must be an array of at most 50 host names"});
    return;
  }
  for (std::size_t i = 0; i < hosts->get_array().size(); ++i) {
    const json::value& h = hosts->get_array()[i];
    std::string host = h.is_string() ? std::string(h.get_string()) : std::string();
    std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
    if (!is_host_name(host)) {
      errors.push_back({"config.allowed_hosts[" + std::to_string(i) + "]",
                        "must be a host name (api.example.org), without scheme, port or path"});
      continue;
    }
    out.push_back(std::move(host));
  }
}

void read_data(const json::object& config, json::value& out, std::vector<FieldError>& errors) {
  const json::value* data = config.if_contains("data");
  if (!data || data->is_null()) return;
  if (!data->is_structured()) {
    errors.push_back({"config.data", "must be an object or an array (lookup tables, read as ctx.data)"});
  } else if (json::serialize(*data).size() > max_data_bytes) {
    errors.push_back({"config.data", "is larger than 1 MiB"});
  } else {
    out = *data;
  }
}

std::shared_ptr<const KindConfig> read_script_config(const json::object& config, bool sync,
                                                     std::vector<FieldError>& errors) {
  std::size_t errors_before = errors.size();
  auto s = std::make_shared<ScriptConfig>();
  reject_unknown_fields(config, {"code", "data", "allowed_hosts", "timeout_ms", "max_instructions", "max_memory_mb"},
                        errors, "config.");
  read_string(config, "code", s->code, errors, "config.");
  read_data(config, s->data, errors);
  read_allowed_hosts(config, s->allowed_hosts, errors);
  if (sync) s->timeout_ms = 1000;
  read_int(config, "timeout_ms", 10, sync ? 30000 : 120000, s->timeout_ms, errors, "config.");
  read_int(config, "max_instructions", 10'000, 100'000'000, s->max_instructions, errors, "config.");
  read_int(config, "max_memory_mb", 1, 64, s->max_memory_mb, errors, "config.");
  if (errors.size() > errors_before) return nullptr;
  ScriptLimits limits;
  limits.instructions = static_cast<std::size_t>(s->max_instructions);
  limits.memory_bytes = static_cast<std::size_t>(s->max_memory_mb) * 1024 * 1024;
  limits.time = std::chrono::milliseconds(s->timeout_ms);
  s->script = read_script_code(config, "code", "run", true, s->data, limits, errors);
  if (!s->script) return nullptr;
  return s;
}

}  // namespace

json::object ScriptConfig::to_json() const {
  json::object c{{"code", code},
                 {"timeout_ms", timeout_ms},
                 {"max_instructions", max_instructions},
                 {"max_memory_mb", max_memory_mb}};
  json::array hosts;
  for (const auto& h : allowed_hosts) hosts.emplace_back(h);
  c["allowed_hosts"] = std::move(hosts);
  if (!data.is_null()) c["data"] = data;
  return c;
}

IntegrationKindRules script_kind_rules() {
  return {.type = "script", .can_be_sync = true, .signs_with_secret = false, .read_config = read_script_config};
}

}  // namespace daisy::jobs
