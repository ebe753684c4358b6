#include "domain/integration.h"
#include "jobs/kinds/kind_registry.h"
#include "jobs/kinds/redis_config.h"
#include "jobs/kinds/script_code.h"
#include "jobs/kinds/webhook_config.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace {

using daisy::FieldError;
using daisy::IntegrationDefinition;
using daisy::parse_integration_definition;
using daisy::jobs::RedisConfig;
using daisy::jobs::WebhookConfig;
namespace json = boost::json;

constexpr const char* app = "0193a1b2-c3d4-7000-8000-123456789abc";

std::vector<std::string> fields_of(const std::variant<IntegrationDefinition, std::vector<FieldError>>& parsed) {
  std::vector<std::string> out;
  if (auto* errors = std::get_if<std::vector<FieldError>>(&parsed)) {
    for (const auto& e : *errors) out.push_back(e.field);
  }
  std::sort(out.begin(), out.end());
  return out;
}

auto parse(const std::string& text, const IntegrationDefinition* base = nullptr) {
  return parse_integration_definition(json::parse(text).as_object(), daisy::jobs::integration_kinds(), base);
}

TEST(IntegrationDefinition, WebhookDefaults) {
  auto parsed = parse(std::string(R"({"name":"n","source":{"app_id":")") + app +
                      R"("},"type":"webhook","config":{"url":"https://example.org/h"}})");
  ASSERT_TRUE(std::holds_alternative<IntegrationDefinition>(parsed)) << fields_of(parsed).size();
  const auto& d = std::get<IntegrationDefinition>(parsed);
  EXPECT_EQ(d.source_kind, "app");
  EXPECT_EQ(d.triggers, std::vector<std::string>{"event.created"});
  EXPECT_EQ(d.mode, "async");
  ASSERT_NE(d.config_as<WebhookConfig>(), nullptr);
  EXPECT_EQ(d.config_as<WebhookConfig>()->timeout_ms, 15000);
  EXPECT_EQ(d.retry_schedule_s, daisy::default_retry_schedule());
  EXPECT_TRUE(d.enabled);
  EXPECT_TRUE(d.runs_on("event.created"));
  EXPECT_FALSE(d.runs_on("response.created"));
  // What is stored reads back the same.
  auto again = daisy::integration_definition_from_json(json::serialize(d.to_json()), daisy::jobs::integration_kinds());
  ASSERT_TRUE(again);
  EXPECT_EQ(json::serialize(again->to_json()), json::serialize(d.to_json()));
}

TEST(IntegrationDefinition, SyncWebhooksDefaultToTwoSeconds) {
  auto parsed = parse(std::string(R"({"name":"n","source":{"form_id":")") + app +
                      R"("},"type":"webhook","mode":"sync","config":{"url":"http://example.org"}})");
  ASSERT_TRUE(std::holds_alternative<IntegrationDefinition>(parsed));
  EXPECT_EQ(std::get<IntegrationDefinition>(parsed).config_as<WebhookConfig>()->timeout_ms, 2000);
  EXPECT_EQ(std::get<IntegrationDefinition>(parsed).triggers, std::vector<std::string>{"response.created"});
}

TEST(IntegrationDefinition, EachBadFieldIsNamed) {
  auto parsed = parse(R"({"name":"","source":{"app_id":"x"},"type":"fax","mode":"later","extra":1,"config":{}})");
  EXPECT_EQ(fields_of(parsed), (std::vector<std::string>{"extra", "mode", "name", "source.app_id", "type"}));
  auto webhook = parse(std::string(R"({"name":"n","source":{"form_id":")") + app +
                       R"("},"type":"webhook","on":["event.created"],)"
                       R"("config":{"url":"http://","headers":{"bad name":"v","x":"a\nb"},"max_in_flight":0},)"
                       R"("retry":{"schedule_s":[]}})");
  EXPECT_EQ(fields_of(webhook),
            (std::vector<std::string>{"config.headers.bad name", "config.headers.x", "config.max_in_flight",
                                      "config.url", "on[0]", "retry.schedule_s"}));
  auto redis = parse(std::string(R"({"name":"n","source":{"app_id":")") + app +
                     R"("},"type":"redis","mode":"sync","config":{"url":"http://x","callback_timeout_s":0}})");
  EXPECT_EQ(fields_of(redis),
            (std::vector<std::string>{"config.callback_timeout_s", "config.channel", "config.url", "mode"}));
}

TEST(IntegrationDefinition, PatchKeepsWhatItDoesNotName) {
  auto created = parse(std::string(R"({"name":"n","source":{"app_id":")") + app +
                       R"("},"type":"webhook","config":{"url":"http://example.org","timeout_ms":500},)"
                       R"("retry":{"schedule_s":[0,1]}})");
  ASSERT_TRUE(std::holds_alternative<IntegrationDefinition>(created));
  const auto& base = std::get<IntegrationDefinition>(created);
  auto patched = parse(R"({"enabled":false})", &base);
  ASSERT_TRUE(std::holds_alternative<IntegrationDefinition>(patched));
  const auto& d = std::get<IntegrationDefinition>(patched);
  EXPECT_FALSE(d.enabled);
  EXPECT_EQ(d.config_as<WebhookConfig>()->timeout_ms, 500);
  // Sync keeps the config, whose timeout must suit it.
  auto slow = parse(R"({"config":{"url":"http://example.org","timeout_ms":60000}})", &base);
  ASSERT_TRUE(std::holds_alternative<IntegrationDefinition>(slow));
  EXPECT_EQ(fields_of(parse(R"({"mode":"sync"})", &std::get<IntegrationDefinition>(slow))),
            (std::vector<std::string>{"config.timeout_ms"}));
  EXPECT_TRUE(std::holds_alternative<IntegrationDefinition>(parse(R"({"mode":"sync"})", &base)));
  EXPECT_EQ(d.retry_schedule_s, (std::vector<int>{0, 1}));
  EXPECT_EQ(fields_of(parse(R"({"source":{"app_id":"0193a1b2-c3d4-7000-8000-123456789abd"},"type":"redis"})", &base)),
            (std::vector<std::string>{"source", "type"}));
}

TEST(IntegrationDefinition, EachKindReadsItsOwnConfig) {
  auto redis = parse(std::string(R"({"name":"n","source":{"app_id":")") + app +
                     R"("},"type":"redis","config":{"url":"redis://127.0.0.1:6379","channel":"jobs"}})");
  ASSERT_TRUE(std::holds_alternative<IntegrationDefinition>(redis)) << fields_of(redis).size();
  const auto& d = std::get<IntegrationDefinition>(redis);
  ASSERT_NE(d.config_as<RedisConfig>(), nullptr);
  EXPECT_EQ(d.config_as<WebhookConfig>(), nullptr);
  EXPECT_EQ(d.config_as<RedisConfig>()->channel, "jobs");
  EXPECT_EQ(d.config_as<RedisConfig>()->callback_timeout_s, 600);
  EXPECT_EQ(json::serialize(d.to_json().at("config")),
            R"({"url":"redis://127.0.0.1:6379","channel":"jobs","callback_timeout_s":600})");
  // Fields of the other kind's config are unknown here.
  auto mixed = parse(std::string(R"({"name":"n","source":{"app_id":")") + app +
                     R"("},"type":"redis","config":{"url":"redis://h","channel":"c","timeout_ms":5}})");
  EXPECT_EQ(fields_of(mixed), (std::vector<std::string>{"config.timeout_ms"}));
}

TEST(IntegrationDefinition, MessagesNameTheKindsTheRegistryHolds) {
  auto parsed = parse(R"({"name":"n","source":{"app_id":"0193a1b2-c3d4-7000-8000-123456789abc"},"type":"fax",)"
                      R"("config":{}})");
  auto* errors = std::get_if<std::vector<FieldError>>(&parsed);
  ASSERT_TRUE(errors);
  ASSERT_EQ(errors->size(), 1u);
  EXPECT_EQ(errors->front().message, "is required: webhook, redis, sheets, script or sms");
  auto sync_redis = parse(std::string(R"({"name":"n","source":{"app_id":")") + app +
                          R"("},"type":"redis","mode":"sync","config":{"url":"redis://h","channel":"c"}})");
  errors = std::get_if<std::vector<FieldError>>(&sync_redis);
  ASSERT_TRUE(errors);
  ASSERT_EQ(errors->size(), 1u);
  EXPECT_EQ(
      errors->front().message,
      "must be async for a redis integration (only webhook or script integrations can answer within the submission)");
  // A stored definition of a kind no longer known cannot be read.
  EXPECT_FALSE(daisy::integration_definition_from_json(
      std::string(R"({"name":"n","source":{"app_id":")") + app + R"("},"type":"fax","config":{}})",
      daisy::jobs::integration_kinds()));
}

// A definition read again (GET, listings, the registry's reloads) shares the
// compiled Script of the same code instead of compiling it again; other code,
// data or budgets make another.
TEST(IntegrationDefinition, ScriptsReadAgainShareTheirCompiledCode) {
  auto read = [](const std::string& config) {
    auto parsed = parse(std::string(R"({"name":"n","source":{"app_id":")") + app + R"("},"type":"script","config":)" +
                        config + "}");
    EXPECT_TRUE(std::holds_alternative<IntegrationDefinition>(parsed)) << config;
    return std::get<IntegrationDefinition>(std::move(parsed));
  };
  const std::string code = R"("code":"function run(r, ctx) return ctx.data.k end")";
  IntegrationDefinition first = read("{" + code + R"(,"data":{"k":1}})");
  IntegrationDefinition again = read("{" + code + R"(,"data":{"k":1}})");
  IntegrationDefinition other_data = read("{" + code + R"(,"data":{"k":2}})");
  IntegrationDefinition other_budget = read("{" + code + R"(,"data":{"k":1},"max_instructions":50000})");
  const daisy::Script* shared = daisy::jobs::script_of(first);
  ASSERT_NE(shared, nullptr);
  EXPECT_EQ(daisy::jobs::script_of(again), shared);
  EXPECT_NE(daisy::jobs::script_of(other_data), shared);
  EXPECT_NE(daisy::jobs::script_of(other_budget), shared);
  EXPECT_EQ(daisy::jobs::script_of(other_data)->run(json::parse("{}"), {}).output, 2);
}

}  // namespace
