// The /v1/apps handlers, called through the router against a real SQLite store
// (authentication is the dispatcher's, tested in dispatcher_test.cpp).
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "api/routes.h"
#include "auth/authenticator.h"
#include "http/router.h"
#include "observability/metrics.h"
#include "store/sqlite/sqlite_store.h"
#include "test_support.h"
#include "util/ids.h"

#include <deque>

namespace {

using namespace daisy;
using http::Method;
using http::Response;
namespace json = boost::json;

class AppsApi : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_unique<SqliteStore>(SqliteOptions{dir_.file("daisy.db"), false}, &metrics_);
    ASSERT_TRUE(store_->migrate().is_ok());
    ctx_ = std::make_unique<api::ApiContext>(api::ApiContext{*store_, auth_, &metrics_});
    api::register_app_routes(router_, *ctx_);
  }

  // Runs the route's handler for target (path and query) and body.
  Response call(Method method, std::string target, std::string body = {}) {
    targets_.push_back(std::move(target));
    bodies_.push_back(std::move(body));
    http::Request req;
    req.method = method;
    req.target = targets_.back();
    auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    req.query = q == std::string_view::npos ? std::string_view{} : req.target.substr(q + 1);
    req.body = bodies_.back();
    req.request_id = "test";
    auto match = router_.match(method, req.path, req);
    if (!match.pattern) return Response(404, "no route");
    if (!match.route) return Response(405, "wrong method");
    req.route = match.pattern->pattern;
    if (const auto* sync = std::get_if<http::SyncHandler>(&match.route->handler)) return (*sync)(req);
    return daisy::test::run_awaitable(std::get<http::AsyncHandler>(match.route->handler)(req));
  }

  json::object create_ok(std::string name) {
    Response r = call(Method::post, "/v1/apps", json::serialize(json::object{{"name", name}}));
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body).as_object();
  }

  std::vector<std::pair<std::string, std::string>> field_errors(const Response& r) {
    std::vector<std::pair<std::string, std::string>> out;
    json::object b = json::parse(r.body).as_object();
    if (!b.contains("errors")) return out;
    for (const auto& e : b.at("errors").as_array()) {
      out.emplace_back(e.as_object().at("field").as_string(), e.as_object().at("message").as_string());
    }
    return out;
  }

  bool token_works(const std::string& token, std::string* app_id = nullptr) {
    Principal p;
    bool ok = auth_.authenticate("Bearer " + token, p) == Authenticator::Outcome::ok;
    if (app_id) *app_id = p.app_id;
    return ok;
  }

  test::TempDir dir_;
  Metrics metrics_;
  Authenticator auth_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<api::ApiContext> ctx_;
  http::Router router_;
  std::deque<std::string> targets_, bodies_;  // the request views point here
};

TEST_F(AppsApi, AllRoutesAreAdminOnly) {
  ASSERT_EQ(router_.patterns().size(), 4u);
  for (const auto& p : router_.patterns()) {
    for (const auto& r : p.routes) EXPECT_EQ(r.access, http::Access::admin) << p.pattern;
  }
}

TEST_F(AppsApi, CreateReturnsTheAppWithItsToken) {
  Response r = call(Method::post, "/v1/apps", R"({"name": "Checkout web"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  json::object b = json::parse(r.body).as_object();
  EXPECT_EQ(b.size(), 9u) << "the app's fields (publishable key and settings included) and its token";
  EXPECT_EQ(b.at("unknown_event_types").as_string(), "accept");
  std::string id(b.at("id").as_string());
  EXPECT_TRUE(is_uuid(id));
  EXPECT_EQ(id[14], '7');
  EXPECT_EQ(b.at("name").as_string(), "Checkout web");
  EXPECT_TRUE(test::matches_shape(b.at("created_at").as_string(), "####-##-##T##:##:##.###Z"));
  std::string token(b.at("token").as_string());
  EXPECT_EQ(token.rfind("dsy_app_", 0), 0u);
  EXPECT_EQ(token.size(), 51u);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Location");
  EXPECT_EQ(r.headers[0].second, "/v1/apps/" + id);

  std::string owner;
  EXPECT_TRUE(token_works(token, &owner));
  EXPECT_EQ(owner, id);
  EXPECT_EQ(store_->get_app(id).value().name, "Checkout web");
}

TEST_F(AppsApi, CreateRefusesUnknownFields) {
  Response r = call(Method::post, "/v1/apps", R"({"name": "x", "colour": "red", "id": "mine"})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.content_type, "application/problem+json");
  EXPECT_EQ(field_errors(r), (std::vector<std::pair<std::string, std::string>>{{"colour", "is not a known field"},
                                                                               {"id", "is not a known field"}}));
  EXPECT_TRUE(store_->list_apps(Page{}).value().empty()) << "nothing was stored";
}

TEST_F(AppsApi, CreateValidatesTheName) {
  using Errors = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(field_errors(call(Method::post, "/v1/apps", "{}")), (Errors{{"name", "is required"}}));
  EXPECT_EQ(field_errors(call(Method::post, "/v1/apps", R"({"name": 42})")), (Errors{{"name", "must be a string"}}));
  EXPECT_EQ(field_errors(call(Method::post, "/v1/apps", R"({"name": null})")), (Errors{{"name", "must be a string"}}));
  EXPECT_EQ(field_errors(call(Method::post, "/v1/apps", R"({"name": ""})")), (Errors{{"name", "must not be empty"}}));
  EXPECT_EQ(field_errors(call(Method::post, "/v1/apps", R"({"name": "a\tb"})")),
            (Errors{{"name", "must not contain control or bidirectional formatting characters"}}));
  EXPECT_EQ(field_errors(call(Method::post, "/v1/apps", R"({"name": "a\u007fb"})")),
            (Errors{{"name", "must not contain control or bidirectional formatting characters"}}));
  // A right-to-left override makes "exe.txt" read as "txt.exe".
  EXPECT_EQ(field_errors(call(Method::post, "/v1/apps", R"({"name": "a\u202eb"})")),
            (Errors{{"name", "must not contain control or bidirectional formatting characters"}}));
  EXPECT_EQ(field_errors(call(Method::post, "/v1/apps", R"({"name": "a\u0085b"})")),
            (Errors{{"name", "must not contain control or bidirectional formatting characters"}}));
  EXPECT_EQ(field_errors(call(Method::post, "/v1/apps", R"({"colour": 1})")),
            (Errors{{"name", "is required"}, {"colour", "is not a known field"}}));
  EXPECT_EQ(call(Method::post, "/v1/apps", R"({"name": ""})").status, 422);
}

TEST_F(AppsApi, NameLimitIs200Bytes) {
  std::string ok200(200, 'a');
  EXPECT_EQ(call(Method::post, "/v1/apps", "{\"name\": \"" + ok200 + "\"}").status, 201);
  std::string too_long(201, 'a');
  Response r = call(Method::post, "/v1/apps", "{\"name\": \"" + too_long + "\"}");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(field_errors(r)[0].second, "must be at most 200 bytes");
  // 67 euro signs are 67 characters but 201 bytes.
  std::string euros;
  for (int i = 0; i < 67; ++i) euros += "\xe2\x82\xac";
  EXPECT_EQ(call(Method::post, "/v1/apps", "{\"name\": \"" + euros + "\"}").status, 422);
  std::string accents;
  for (int i = 0; i < 100; ++i) accents += "\xc3\xa9";  // 100 characters, 200 bytes
  EXPECT_EQ(call(Method::post, "/v1/apps", "{\"name\": \"" + accents + "\"}").status, 201);
}

TEST_F(AppsApi, CreateRefusesBadBodies) {
  Response malformed = call(Method::post, "/v1/apps", "{\n  \"name\": ,}");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(malformed.body.find("line 2, column 11"), std::string::npos) << malformed.body;
  EXPECT_EQ(call(Method::post, "/v1/apps", "").status, 400);
  EXPECT_EQ(call(Method::post, "/v1/apps", "[\"name\"]").status, 422);
}

TEST_F(AppsApi, ListPagesWithNextCursor) {
  std::vector<std::string> ids;
  for (const char* name : {"a", "b", "c"}) ids.emplace_back(create_ok(name).at("id").as_string());

  Response first = call(Method::get, "/v1/apps?limit=2");
  ASSERT_EQ(first.status, 200) << first.body;
  json::object p1 = json::parse(first.body).as_object();
  ASSERT_EQ(p1.at("items").as_array().size(), 2u);
  json::object item = p1.at("items").as_array()[0].as_object();
  EXPECT_EQ(item.size(), 8u) << "id, name, created_at, unknown_event_types, publishable_key, allowed_origins, "
                                "forms, rate_limit; never the token";
  EXPECT_FALSE(item.contains("token"));
  EXPECT_EQ(item.at("id").as_string(), ids[0]);
  EXPECT_EQ(item.at("name").as_string(), "a");
  ASSERT_TRUE(p1.at("next_cursor").is_string());
  EXPECT_EQ(p1.at("next_cursor").as_string(), ids[1]);

  json::object p2 = json::parse(call(Method::get, "/v1/apps?limit=2&after=" + ids[1]).body).as_object();
  ASSERT_EQ(p2.at("items").as_array().size(), 1u);
  EXPECT_EQ(p2.at("items").as_array()[0].as_object().at("id").as_string(), ids[2]);
  EXPECT_TRUE(p2.at("next_cursor").is_null());

  json::object synonym = json::parse(call(Method::get, "/v1/apps?limit=2&cursor=" + ids[1]).body).as_object();
  EXPECT_EQ(synonym.at("items").as_array().size(), 1u);

  json::object all = json::parse(call(Method::get, "/v1/apps").body).as_object();
  EXPECT_EQ(all.at("items").as_array().size(), 3u);
  EXPECT_TRUE(all.at("next_cursor").is_null());

  EXPECT_EQ(call(Method::get, "/v1/apps?limit=0").status, 422);
  EXPECT_EQ(call(Method::get, "/v1/apps?limit=1001").status, 422);
}

TEST_F(AppsApi, GetApp) {
  json::object created = create_ok("one");
  std::string id(created.at("id").as_string());
  Response r = call(Method::get, "/v1/apps/" + id);
  ASSERT_EQ(r.status, 200);
  json::object b = json::parse(r.body).as_object();
  EXPECT_EQ(b.size(), 8u);
  EXPECT_FALSE(b.contains("token"));
  EXPECT_EQ(b.at("id").as_string(), id);
  EXPECT_EQ(b.at("name").as_string(), "one");
  EXPECT_EQ(b.at("created_at"), created.at("created_at"));
  EXPECT_FALSE(b.contains("token"));

  Response missing = call(Method::get, "/v1/apps/" + new_uuid_v7());
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.content_type, "application/problem+json");
  EXPECT_EQ(call(Method::get, "/v1/apps/not-a-uuid").status, 404) << "ids are not validated, just not found";
}

TEST_F(AppsApi, DeleteApp) {
  json::object created = create_ok("doomed");
  std::string id(created.at("id").as_string());
  std::string token(created.at("token").as_string());
  ASSERT_TRUE(token_works(token));

  Response r = call(Method::del, "/v1/apps/" + id);
  EXPECT_EQ(r.status, 204);
  EXPECT_TRUE(r.body.empty());
  EXPECT_TRUE(r.content_type.empty());
  EXPECT_FALSE(token_works(token)) << "the token stops working at once";
  EXPECT_EQ(call(Method::get, "/v1/apps/" + id).status, 404);
  EXPECT_EQ(call(Method::del, "/v1/apps/" + id).status, 404);
  EXPECT_EQ(call(Method::post, "/v1/apps/" + id + "/token").status, 404);
}

TEST_F(AppsApi, RotateToken) {
  json::object created = create_ok("rotating");
  std::string id(created.at("id").as_string());
  std::string old_token(created.at("token").as_string());

  Response r = call(Method::post, "/v1/apps/" + id + "/token", "ignored body");
  ASSERT_EQ(r.status, 200) << r.body;
  json::object b = json::parse(r.body).as_object();
  EXPECT_EQ(b.at("id").as_string(), id);
  EXPECT_EQ(b.at("name").as_string(), "rotating");
  std::string new_token(b.at("token").as_string());
  EXPECT_NE(new_token, old_token);
  EXPECT_EQ(new_token.rfind("dsy_app_", 0), 0u);
  EXPECT_FALSE(token_works(old_token));
  std::string owner;
  EXPECT_TRUE(token_works(new_token, &owner));
  EXPECT_EQ(owner, id);

  EXPECT_EQ(call(Method::post, "/v1/apps/" + new_uuid_v7() + "/token").status, 404);
}

}  // namespace
