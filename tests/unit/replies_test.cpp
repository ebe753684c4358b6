#include "api/replies.h"
#include "util/ascii.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace {

using namespace daisy;
using namespace daisy::api;
namespace json = boost::json;

std::variant<Page, http::Response> page_for(std::string_view query) {
  http::Request req;
  req.query = query;
  return page_from_query(req);
}

json::object body_of(const http::Response& r) { return json::parse(r.body).as_object(); }

std::string header_of(const http::Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (iequals(k, name)) return v;
  }
  return "<absent>";
}

TEST(PageFromQuery, Defaults) {
  auto p = page_for("");
  ASSERT_TRUE(std::holds_alternative<Page>(p));
  EXPECT_EQ(std::get<Page>(p).limit, 50u);
  EXPECT_EQ(std::get<Page>(p).after, "");
}

TEST(PageFromQuery, LimitBounds) {
  EXPECT_EQ(std::get<Page>(page_for("limit=1")).limit, 1u);
  EXPECT_EQ(std::get<Page>(page_for("limit=1000")).limit, 1000u);
  for (std::string_view bad : {"limit=0", "limit=1001", "limit=-1", "limit=abc", "limit=10x", "limit=", "limit=1.5",
                               "limit=+5", "limit=%205", "limit=99999999999"}) {
    auto p = page_for(bad);
    ASSERT_TRUE(std::holds_alternative<http::Response>(p)) << bad;
    const auto& r = std::get<http::Response>(p);
    EXPECT_EQ(r.status, 422) << bad;
    json::object b = body_of(r);
    EXPECT_EQ(b.at("detail").as_string(), "Invalid query parameter.");
    EXPECT_EQ(b.at("errors").as_array()[0].as_object().at("field").as_string(), "limit");
    EXPECT_EQ(b.at("errors").as_array()[0].as_object().at("message").as_string(), "must be an integer from 1 to 1000");
  }
}

TEST(PageFromQuery, AfterAndItsSynonymCursor) {
  EXPECT_EQ(std::get<Page>(page_for("after=abc")).after, "abc");
  EXPECT_EQ(std::get<Page>(page_for("cursor=xyz")).after, "xyz");
  EXPECT_EQ(std::get<Page>(page_for("cursor=xyz&after=abc")).after, "abc") << "after wins";
  EXPECT_EQ(std::get<Page>(page_for("after=a%2Fb")).after, "a/b");
  Page both = std::get<Page>(page_for("limit=7&after=k"));
  EXPECT_EQ(both.limit, 7u);
  EXPECT_EQ(both.after, "k");
}

TEST(PageFromQuery, CursorsAreAtMost256Characters) {
  EXPECT_EQ(std::get<Page>(page_for("after=" + std::string(256, 'a'))).after.size(), 256u);
  for (std::string name : {"after", "cursor"}) {
    auto p = page_for(name + "=" + std::string(257, 'a'));
    ASSERT_TRUE(std::holds_alternative<http::Response>(p)) << name;
    EXPECT_EQ(std::get<http::Response>(p).status, 422);
    EXPECT_EQ(body_of(std::get<http::Response>(p)).at("errors").as_array()[0].as_object().at("field").as_string(),
              "after");
  }
}

TEST(PageBody, NextCursorIsSetWhenThePageIsFull) {
  json::array items = {1, 2};
  json::object full = page_body(items, Page{2, ""}, "id-2");
  EXPECT_EQ(full.at("items").as_array().size(), 2u);
  EXPECT_EQ(full.at("next_cursor").as_string(), "id-2");
  EXPECT_EQ(full.size(), 2u);

  json::object partial = page_body(items, Page{3, ""}, "id-2");
  EXPECT_TRUE(partial.at("next_cursor").is_null());

  json::object empty = page_body(json::array{}, Page{50, "x"}, "");
  EXPECT_TRUE(empty.at("items").as_array().empty());
  EXPECT_TRUE(empty.at("next_cursor").is_null());
}

TEST(StoreFailure, MapsEachStatus) {
  http::Response nf = store_failure(Status::not_found("app"), "app 42");
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(body_of(nf).at("detail").as_string(), "app 42 was not found.");

  http::Response conflict = store_failure(Status::conflict("UNIQUE constraint failed"), "app");
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(body_of(conflict).at("type").as_string(), "urn:daisy:problem:conflict");

  http::Response unavailable = store_failure(Status::unavailable("disk full"), "app");
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_EQ(body_of(unavailable).at("type").as_string(), "urn:daisy:problem:store-unavailable");
  EXPECT_EQ(header_of(unavailable, "Retry-After"), "1");
  EXPECT_EQ(unavailable.body.find("disk full"), std::string::npos) << "store errors are not shown";

  http::Response internal = store_failure(Status::internal("secret detail"), "app");
  EXPECT_EQ(internal.status, 500);
  EXPECT_EQ(body_of(internal).at("type").as_string(), "urn:daisy:problem:internal-error");
  EXPECT_EQ(internal.body.find("secret detail"), std::string::npos);
}

TEST(JsonReply, SerialisesTheBody) {
  http::Response r = json_reply(201, json::object{{"a", 1}});
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, "{\"a\":1}");
}

}  // namespace
