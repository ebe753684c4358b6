// The sms kind's pure parts: templates over a record, E.164, the body's
// length, the config's rules, and Twilio's request signature (checked
// against the example in Twilio's security documentation).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <variant>

#include "jobs/kinds/sms_action.h"
#include "jobs/kinds/sms_config.h"
#include "jobs/kinds/sms_status.h"
#include "jobs/kinds/sms_template.h"
#include "jobs/kinds/twilio_api.h"

namespace {

using namespace daisy;
using namespace daisy::jobs;
namespace json = boost::json;

SmsTemplate parsed(std::string_view text) {
  auto t = SmsTemplate::parse(text);
  EXPECT_EQ(t.index(), 0u) << std::get<1>(t);
  return t.index() == 0 ? std::get<0>(t) : std::get<0>(SmsTemplate::parse(""));
}

std::string rendered(std::string_view text, std::string_view record, std::string_view alias = "response") {
  auto r = parsed(text).render(json::parse(record), alias);
  return r.index() == 0 ? std::get<0>(r) : "ERROR: " + std::get<1>(r);
}

constexpr std::string_view kRecord =
    R"({"id":"r-1","form_id":"f-1","answers":{"name":"Ada","phone":"+15005550006","age":36,"score":2.5,)"
    R"("ok":true,"tags":["a","b"],"nothing":null,"where":{"city":"Oslo"}}})";

TEST(SmsTemplateTest, RendersPathsAliasesAndDefaults) {
  EXPECT_EQ(rendered("Thanks {{answers.name}}, receipt {{response.id}}", kRecord), "Thanks Ada, receipt r-1");
  EXPECT_EQ(rendered("{{ answers.name }}/{{id}}", kRecord), "Ada/r-1");
  EXPECT_EQ(rendered("Hi {{answers.nick|friend}}", kRecord), "Hi friend");
  EXPECT_EQ(rendered("Hi {{ answers.nick | my friend }}", kRecord), "Hi my friend");
  EXPECT_EQ(rendered("Hi {{answers.nick|}}!", kRecord), "Hi !");
  EXPECT_EQ(rendered("{{answers.nothing|none}}", kRecord), "none");
  EXPECT_EQ(rendered("{{event.id}}", kRecord, "event"), "r-1");
  EXPECT_EQ(rendered("no placeholders", kRecord), "no placeholders");
  EXPECT_EQ(rendered("{{answers.tags.1}}", kRecord), "b");
}

TEST(SmsTemplateTest, RendersValuesAsJsonDoes) {
  EXPECT_EQ(rendered("{{answers.age}} {{answers.score}} {{answers.ok}}", kRecord), "36 2.5 true");
  EXPECT_EQ(rendered("{{answers.tags}}", kRecord), R"(["a","b"])");
  EXPECT_EQ(rendered("{{answers.where}}", kRecord), R"({"city":"Oslo"})");
}

TEST(SmsTemplateTest, AMissingPathWithoutDefaultIsNamed) {
  EXPECT_EQ(rendered("Hi {{answers.nick}}", kRecord),
            "ERROR: answers.nick is missing from the record (and has no default)");
  EXPECT_EQ(rendered("{{answers.nothing}}", kRecord),
            "ERROR: answers.nothing is missing from the record (and has no default)");
  EXPECT_EQ(rendered("{{answers.name.first}}", kRecord).substr(0, 6), "ERROR:");
  EXPECT_EQ(rendered("{{response.id}}", kRecord, "event").substr(0, 6), "ERROR:");
}

TEST(SmsTemplateTest, SyntaxErrorsAreRefused) {
  for (std::string_view bad : {"Hi {{answers.name", "{{}}", "{{ }}", "{{answers..name}}", "{{answers name}}",
                               "{{a.{{b}}}}", "{{|x}}", "{{.a}}", "{{a.}}"}) {
    EXPECT_EQ(SmsTemplate::parse(bad).index(), 1u) << bad;
  }
  EXPECT_EQ(SmsTemplate::parse("a }} b").index(), 0u);
}

TEST(SmsTemplateTest, E164) {
  EXPECT_TRUE(is_e164("+15005550006"));
  EXPECT_TRUE(is_e164("+44"));
  EXPECT_TRUE(is_e164("+123456789012345"));
  EXPECT_FALSE(is_e164("+1234567890123456"));  // 16 digits
  EXPECT_FALSE(is_e164("15005550006"));
  EXPECT_FALSE(is_e164("+05005550006"));
  EXPECT_FALSE(is_e164("+1 500 555 0006"));
  EXPECT_FALSE(is_e164("+1"));
  EXPECT_FALSE(is_e164(""));
  EXPECT_FALSE(is_e164("+1500555000a"));
}

TEST(SmsTemplateTest, CharactersAreCodePoints) {
  EXPECT_EQ(count_characters("abc"), 3u);
  EXPECT_EQ(count_characters("h\xC3\xA9llo"), 5u);      // é
  EXPECT_EQ(count_characters("\xF0\x9F\x98\x80"), 1u);  // an emoji
}

// Twilio's documented example (https://www.twilio.com/docs/usage/security):
// auth token 12345, this URL and these POST parameters sign as
// 0/KCTR6DLpKmkAf8muzZqo1nDgQ=. Recomputed independently with
//   python3 -c "import hmac,hashlib,base64; u='https://mycompany.com/myapp.php?foo=1&bar=2';
//   p={'CallSid':'CA1234567890ABCDE','Caller':'+12349013030','Digits':'1234','From':'+12349013030',
//   'To':'+18005551212'}; d=u+''.join(k+p[k] for k in sorted(p));
//   print(base64.b64encode(hmac.new(b'12345',d.encode(),hashlib.sha1).digest()).decode())"
TEST(SmsSignatureTest, MatchesTwiliosDocumentedExample) {
  FormParams params{{"To", "+18005551212"},
                    {"From", "+12349013030"},
                    {"Digits", "1234"},
                    {"CallSid", "CA1234567890ABCDE"},
                    {"Caller", "+12349013030"}};
  EXPECT_EQ(twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
  EXPECT_NE(twilio_signature("12346", "https://mycompany.com/myapp.php?foo=1&bar=2", params),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
  EXPECT_NE(twilio_signature("12345", "http://mycompany.com/myapp.php?foo=1&bar=2", params),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
}

std::variant<std::shared_ptr<const KindConfig>, std::vector<std::string>> read(std::string_view config) {
  std::vector<FieldError> errors;
  auto c = sms_kind_rules().read_config(json::parse(config).as_object(), false, errors);
  if (c) return c;
  std::vector<std::string> fields;
  for (const auto& e : errors) fields.push_back(e.field);
  return fields;
}

constexpr std::string_view kSid = "AC0123456789abcdef0123456789abcdef";

std::string config_with(std::string_view extra) {
  return std::string(R"({"provider":"twilio","account_sid":")") + std::string(kSid) +
         R"(","auth_token":"tok","to":"{{answers.phone}}","body":"Hi {{answers.name}}")" + std::string(extra) + "}";
}

TEST(SmsConfigTest, ReadsAndHidesTheToken) {
  auto c = read(config_with(R"(,"from":"+15005550006")"));
  ASSERT_EQ(c.index(), 0u);
  const auto& config = dynamic_cast<const SmsConfig&>(*std::get<0>(c));
  EXPECT_EQ(config.api_base, "https://api.twilio.com");
  EXPECT_EQ(config.callback_timeout_s, 3600);
  EXPECT_EQ(config.to_json().at("auth_token"), "tok");
  EXPECT_EQ(config.to_shown_json().at("auth_token"), "***");
  EXPECT_EQ(config.to_json().at("body"), "Hi {{answers.name}}");
}

TEST(SmsConfigTest, NamesEachBadField) {
  using Fields = std::vector<std::string>;
  EXPECT_EQ(std::get<1>(read(config_with(""))), Fields{"config.from"});
  EXPECT_EQ(
      std::get<1>(read(config_with(R"(,"from":"+1500","messaging_service_sid":"MG0123456789abcdef0123456789abcdef")"))),
      Fields{"config.from"});
  EXPECT_EQ(std::get<1>(read(config_with(R"(,"from":"+1500","provider":"nexmo")"))), Fields{"config.provider"});
  EXPECT_EQ(std::get<1>(read(config_with(R"(,"from":"+1500","auth_token":"***")"))), Fields{"config.auth_token"});
  EXPECT_EQ(std::get<1>(read(config_with(R"(,"from":"+1500","body":"Hi {{answers.name")"))), Fields{"config.body"});
  EXPECT_EQ(std::get<1>(read(config_with(R"(,"from":"+1500","to":"{{}}")"))), Fields{"config.to"});
  EXPECT_EQ(std::get<1>(read(config_with(R"(,"from":"+1500","callback_timeout_s":0)"))),
            Fields{"config.callback_timeout_s"});
  EXPECT_EQ(std::get<1>(read(config_with(R"(,"from":"+1500","extra":1)"))), Fields{"config.extra"});
}

TEST(SmsRenderTest, ChecksTheNumberAndTheLength) {
  auto c = read(config_with(R"(,"from":"+15005550006")"));
  ASSERT_EQ(c.index(), 0u);
  const auto& config = dynamic_cast<const SmsConfig&>(*std::get<0>(c));
  JobRow job;
  job.payload = R"({"id":"r","answers":{"phone":"+15005550006","name":"Ada"}})";
  auto ok = render_sms(config, job, "form");
  ASSERT_EQ(ok.index(), 0u);
  EXPECT_EQ(std::get<0>(ok).to, "+15005550006");
  EXPECT_EQ(std::get<0>(ok).body, "Hi Ada");
  job.payload = R"({"id":"r","answers":{"phone":"555-0006","name":"Ada"}})";
  EXPECT_NE(std::get<1>(render_sms(config, job, "form")).find("E.164"), std::string::npos);
  job.payload = R"({"id":"r","answers":{"phone":"+15005550006","name":")" + std::string(1600, 'x') + "\"}}";
  EXPECT_NE(std::get<1>(render_sms(config, job, "form")).find("1600"), std::string::npos);
  job.payload = R"({"id":"r","answers":{"phone":"+15005550006"}})";
  EXPECT_NE(std::get<1>(render_sms(config, job, "form")).find("answers.name is missing"), std::string::npos);
}

TEST(SmsStatusTest, StatusesSettleTheJob) {
  AttemptOutcome o;
  EXPECT_FALSE(settle_by_status(o, "SM1", "sent", ""));
  EXPECT_TRUE(settle_by_status(o, "SM1", "delivered", ""));
  EXPECT_EQ(o.status, "succeeded");
  EXPECT_EQ(sms_sid_of(o.output), "SM1");
  EXPECT_TRUE(settle_by_status(o, "SM1", "undelivered", "30003"));
  EXPECT_EQ(o.status, "dead");
  EXPECT_NE(o.attempt.error.find("30003"), std::string::npos);
}

}  // namespace
