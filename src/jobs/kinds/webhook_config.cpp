#include "jobs/kinds/webhook_config.h"

#include <algorithm>
#include <cctype>
#include <memory>

#include "domain/json_fields.h"
#include "jobs/kinds/script_code.h"

namespace daisy::jobs {
namespace {
namespace json = boost::json;

std::shared_ptr<const KindConfig> read_webhook_config(const json::object& config, bool sync,
                                                      std::vector<FieldError>& errors) {
  std::size_t errors_before = errors.size();
  auto w = std::make_shared<WebhookConfig>();
  reject_unknown_fields(config, {"url", "headers", "timeout_ms", "max_per_second", "max_in_flight", "transform"},
                        errors, "config.");
  read_string(config, "url", w->url, errors, "config.");
  if (w->url.empty()) {
    errors.push_back({"config.url", "is required (an http:// or https:// URL)"});
  } else if (w->url.size() > 2048 || !is_http_url(w->url)) {
    errors.push_back({"config.url", "must be an absolute http:// or https:// URL"});
  }
  read_headers(config, "headers", w->headers, errors, "config.");
  for (const auto& [name, value] : w->headers) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower.rfind("webhook-", 0) == 0 || lower == "content-type" || lower == "content-length" || lower == "host") {
      errors.push_back({"config.headers." + name, "is set by Daisy and cannot be replaced"});
    }
  }
  if (!config.contains("timeout_ms") && sync) w->timeout_ms = std::min(w->timeout_ms, 2000);
  read_int(config, "timeout_ms", 100, sync ? 30000 : 120000, w->timeout_ms, errors, "config.");
  read_int(config, "max_per_second", 1, 100000, w->max_per_second, errors, "config.");
  read_int(config, "max_in_flight", 1, 1000, w->max_in_flight, errors, "config.");
  if (!read_transform(config, w->transform_code, w->transform, errors)) return nullptr;
  if (errors.size() > errors_before) return nullptr;
  return w;
}

}  // namespace

json::object WebhookConfig::to_json() const {
  json::object c;
  c["url"] = url;
  json::object h;
  for (const auto& [k, v] : headers) h[k] = v;
  c["headers"] = std::move(h);
  c["timeout_ms"] = timeout_ms;
  if (max_per_second > 0) c["max_per_second"] = max_per_second;
  if (max_in_flight > 0) c["max_in_flight"] = max_in_flight;
  if (!transform_code.empty()) c["transform"] = transform_code;
  return c;
}

IntegrationKindRules webhook_kind_rules() {
  return {.type = "webhook", .can_be_sync = true, .signs_with_secret = true, .read_config = read_webhook_config};
}

}  // namespace daisy::jobs
