#include "jobs/kinds/redis_config.h"

#include <boost/url/parse.hpp>

#include <memory>

#include "domain/json_fields.h"
#include "jobs/kinds/script_code.h"

namespace daisy::jobs {
namespace {
namespace json = boost::json;

bool is_redis_url(const std::string& url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  return parsed && parsed->scheme() == "redis" && !parsed->host().empty();
}

std::shared_ptr<const KindConfig> read_redis_config(const json::object& config, bool /*sync: never*/,
                                                    std::vector<FieldError>& errors) {
  std::size_t errors_before = errors.size();
  auto r = std::make_shared<RedisConfig>();
  reject_unknown_fields(config, {"url", "channel", "callback_timeout_s", "transform"}, errors, "config.");
  read_string(config, "url", r->url, errors, "config.");
  if (r->url.empty()) {
    errors.push_back({"config.url", "is required (a redis://host:port URL)"});
  } else if (r->url.size() > 2048 || !is_redis_url(r->url)) {
    errors.push_back({"config.url", "must be a redis://[:password@]host[:port][/db] URL"});
  }
  read_string(config, "channel", r->channel, errors, "config.");
  if (r->channel.empty() || r->channel.size() > 200) {
    errors.push_back({"config.channel", "is required: 1 to 200 characters"});
  }
  read_int(config, "callback_timeout_s", 1, 86400, r->callback_timeout_s, errors, "config.");
  if (!read_transform(config, r->transform_code, r->transform, errors)) return nullptr;
  if (errors.size() > errors_before) return nullptr;
  return r;
}

}  // namespace

json::object RedisConfig::to_json() const {
  json::object c{{"url", url}, {"channel", channel}, {"callback_timeout_s", callback_timeout_s}};
  if (!transform_code.empty()) c["transform"] = transform_code;
  return c;
}

IntegrationKindRules redis_kind_rules() {
  return {.type = "redis", .can_be_sync = false, .signs_with_secret = false, .read_config = read_redis_config};
}

}  // namespace daisy::jobs
