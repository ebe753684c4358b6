#include "feeds/json_feed.h"

#include <gtest/gtest.h>

namespace {

using namespace daisy::feeds;

JsonPage page_of(std::string_view body, const std::string& path = "", const std::string& id = "id") {
  auto parsed = parse_json_page(body, path, id);
  if (auto* error = std::get_if<std::string>(&parsed)) {
    ADD_FAILURE() << *error;
    return {};
  }
  return std::get<JsonPage>(parsed);
}

TEST(JsonFeed, ReadsABareArray) {
  auto page = page_of(R"([{"id": "a", "x": 1, "price": 18.50}, {"id": 7}, {"x": 2}, "not an object"])");
  ASSERT_EQ(page.items.size(), 2u);
  EXPECT_EQ(page.items[0].id, "a");
  EXPECT_EQ(page.items[0].data, R"({"id":"a","x":1,"price":18.5})");
  EXPECT_EQ(page.items[1].id, "7");
  EXPECT_EQ(page.skipped, 2u);
  EXPECT_FALSE(page.next_cursor);
}

TEST(JsonFeed, ReadsItemsAndTheCursorFromAnObject) {
  auto page = page_of(R"({"items": [{"id": "a"}], "next_cursor": "c2"})");
  ASSERT_EQ(page.items.size(), 1u);
  ASSERT_TRUE(page.next_cursor);
  EXPECT_EQ(*page.next_cursor, "c2");
  EXPECT_FALSE(page_of(R"({"items": [], "next_cursor": null})").next_cursor);
}

TEST(JsonFeed, FollowsItemsPathAndIdField) {
  auto page = page_of(R"({"result": {"rows": [{"key": "k1"}, {"id": "no key"}]}})", "result.rows", "key");
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].id, "k1");
  EXPECT_EQ(page.skipped, 1u);
}

TEST(JsonFeed, SkipsIdsTooLongForACursor) {
  std::string long_id(max_item_id_length + 1, 'x');
  auto page = page_of("[{\"id\": \"" + long_id + "\"}, {\"id\": \"" + long_id.substr(1) + "\"}]");
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.skipped, 1u);
}

TEST(JsonFeed, RefusesWhatIsNotAPage) {
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_json_page("{not json", "", "id")));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_json_page(R"({"rows": []})", "", "id")));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_json_page(R"({"items": {}})", "", "id")));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_json_page("42", "", "id")));
}

}  // namespace
