#include "domain/provider.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <set>

namespace {

using namespace daisy;
namespace json = boost::json;

std::set<std::string> error_fields(std::string_view body, const ProviderDefinition* base = nullptr) {
  auto parsed = parse_provider_definition(json::parse(body).as_object(), base);
  std::set<std::string> fields;
  if (auto* errors = std::get_if<std::vector<FieldError>>(&parsed)) {
    for (const auto& e : *errors) fields.insert(e.field);
  }
  return fields;
}

ProviderDefinition valid(std::string_view body, const ProviderDefinition* base = nullptr) {
  auto parsed = parse_provider_definition(json::parse(body).as_object(), base);
  if (auto* errors = std::get_if<std::vector<FieldError>>(&parsed)) {
    ADD_FAILURE() << errors->front().field << ": " << errors->front().message;
    return {};
  }
  return std::get<ProviderDefinition>(parsed);
}

TEST(Provider, DefaultsForAFeverFeed) {
  auto d = valid(R"({"name": "fever", "url": "https://feeds.example.org/plans.xml", "format": "fever-xml"})");
  EXPECT_EQ(d.interval_s, 60);
  EXPECT_EQ(d.timeout_ms, 5000);
  EXPECT_TRUE(d.enabled);
  EXPECT_EQ(d.timezone, "UTC");
}

TEST(Provider, NamesEveryBadField) {
  EXPECT_EQ(error_fields(R"({})"), (std::set<std::string>{"name", "url", "format"}));
  EXPECT_EQ(error_fields(R"({"name": "a b", "url": "ftp://x/y", "format": "csv", "interval_s": 1,
                            "timeout_ms": "5", "enabled": 1, "timezone": "Nowhere/City", "headers": {"X-A": 3},
                            "colour": "red"})"),
            (std::set<std::string>{"name", "url", "format", "interval_s", "timeout_ms", "enabled", "timezone",
                                   "headers.X-A", "colour"}));
  EXPECT_EQ(error_fields(R"({"name": "d", "url": "http://h", "format": "daisy", "options": {"id_field": "x"}})"),
            (std::set<std::string>{"options.id_field", "options.form_id", "options.token"}));
  EXPECT_EQ(error_fields(R"({"name": "h", "url": "http://h", "format": "json", "headers": {"X": "a\r\nB: c"}})"),
            (std::set<std::string>{"headers.X"}));
  // The daisy token becomes a header line too.
  EXPECT_EQ(error_fields(R"({"name": "d", "url": "http://h", "format": "daisy", "options":
                            {"form_id": "01900000-0000-7000-8000-000000000001", "token": "t\r\nX-Evil: 1"}})"),
            (std::set<std::string>{"options.token"}));
}

TEST(Provider, PatchChangesOnlyWhatIsGiven) {
  auto base = valid(R"({"name": "j", "url": "http://h/items", "format": "json", "interval_s": 30,
                        "options": {"id_field": "key", "cursor_param": "since"}})");
  auto patched = valid(R"({"interval_s": 90})", &base);
  EXPECT_EQ(patched.interval_s, 90);
  EXPECT_EQ(patched.url, "http://h/items");
  EXPECT_EQ(patched.id_field, "key");
  EXPECT_EQ(patched.cursor_param, "since");
  EXPECT_EQ(error_fields(R"({"url": ""})", &base), (std::set<std::string>{"url"}));
}

TEST(Provider, StoredFormRoundTripsAndHidesTheToken) {
  auto d = valid(R"({"name": "other", "url": "http://daisy.example.org", "format": "daisy",
                     "options": {"form_id": "01900000-0000-7000-8000-000000000001", "token": "secret"}})");
  auto stored = json::serialize(d.to_json(true));
  auto back = provider_definition_from_json(stored);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->token, "secret");
  EXPECT_EQ(back->form_id, "01900000-0000-7000-8000-000000000001");
  EXPECT_EQ(d.to_json(false).at("options").at("token").as_string(), "***");
  EXPECT_FALSE(provider_definition_from_json("not json"));
  // The masked token sent back in a PATCH keeps the real one; a new one replaces it.
  auto kept = valid(R"({"options": {"token": "***"}})", &d);
  EXPECT_EQ(kept.token, "secret");
  auto replaced = valid(R"({"options": {"token": "new"}})", &d);
  EXPECT_EQ(replaced.token, "new");
}

}  // namespace
