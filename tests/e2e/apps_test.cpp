// /v1/apps: create, list (pagination), get, delete, token rotation, and who
// may call them.
#include <boost/json.hpp>

#include <algorithm>
#include <set>

#include "harness.h"

namespace daisy_e2e {
namespace {

namespace json = boost::json;

struct CreatedApp {
  std::string id;
  std::string name;
  std::string token;
  std::string created_at;
};

class AppsTest : public SharedServer<AppsTest> {
 public:
  static DaisyProcess::Options options() { return {}; }

 protected:
  static CreatedApp create(std::string_view name) {
    HttpResponse r = server().create_app(name);
    EXPECT_EQ(r.status, 201) << r.summary();
    if (r.status != 201) return {};
    json::value v = r.json();
    return {std::string(v.at("id").as_string()), std::string(v.at("name").as_string()),
            std::string(v.at("token").as_string()), std::string(v.at("created_at").as_string())};
  }

  // Walks every page of GET /v1/apps with this limit; returns the ids in order.
  static std::vector<std::string> walk(int limit, std::size_t* pages = nullptr) {
    std::vector<std::string> ids;
    std::string next;
    for (std::size_t page = 0; page < 10'000; ++page) {
      std::string target = "/v1/apps?limit=" + std::to_string(limit);
      if (!next.empty()) target += "&after=" + next;
      HttpResponse r = server().get(target, server().admin());
      EXPECT_EQ(r.status, 200) << target << ": " << r.summary();
      if (r.status != 200) return ids;
      json::object body = r.json().as_object();
      const json::array& items = body.at("items").as_array();
      EXPECT_LE(items.size(), static_cast<std::size_t>(limit));
      for (const auto& item : items) ids.emplace_back(item.at("id").as_string());
      if (pages) *pages = page + 1;
      if (body.at("next_cursor").is_null()) return ids;
      EXPECT_TRUE(body.at("next_cursor").is_string()) << r.body;
      std::string cursor(body.at("next_cursor").as_string());
      EXPECT_FALSE(items.empty()) << "a page with a cursor must not be empty";
      if (!items.empty()) {
        EXPECT_EQ(cursor, std::string(items.back().at("id").as_string()));
      }
      next = cursor;
    }
    ADD_FAILURE() << "pagination did not end";
    return ids;
  }

  static bool is_timestamp(std::string_view s) {
    // 2026-01-02T03:04:05.678Z
    if (s.size() != 24) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
      char c = s[i];
      bool ok = (i == 4 || i == 7)     ? c == '-'
                : i == 10              ? c == 'T'
                : (i == 13 || i == 16) ? c == ':'
                : i == 19              ? c == '.'
                : i == 23              ? c == 'Z'
                                       : (c >= '0' && c <= '9');
      if (!ok) return false;
    }
    return true;
  }
};

TEST_F(AppsTest, CreateReturnsTheAppItsTokenAndLocation) {
  HttpResponse r = server().create_app("Weather station");
  ASSERT_EQ(r.status, 201) << r.summary();
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  json::object body = r.json().as_object();
  std::string id(body.at("id").as_string());
  EXPECT_TRUE(is_uuid_v7(id)) << id;
  EXPECT_EQ(body.at("name").as_string(), "Weather station");
  EXPECT_TRUE(is_app_token(body.at("token").as_string())) << body.at("token");
  EXPECT_TRUE(is_timestamp(body.at("created_at").as_string())) << body.at("created_at");
  EXPECT_EQ(body.at("unknown_event_types").as_string(), "accept");
  EXPECT_EQ(std::string(body.at("publishable_key").as_string()).rfind("dpk_", 0), 0u) << r.body;
  EXPECT_EQ(body.size(), 9u) << r.body;
  EXPECT_EQ(r.header("Location"), "/v1/apps/" + id);
}

// Names need not be unique (README): an app is known by its id.
TEST_F(AppsTest, EachAppGetsItsOwnIdAndToken) {
  CreatedApp a = create("twin");
  CreatedApp b = create("twin");
  EXPECT_NE(a.id, b.id);
  EXPECT_NE(a.token, b.token);
  EXPECT_LT(a.id, b.id) << "UUIDv7 ids must grow with creation";
}

TEST_F(AppsTest, GetReturnsTheAppWithoutItsToken) {
  CreatedApp app = create("getter");
  HttpResponse r = server().get("/v1/apps/" + app.id, server().admin());
  ASSERT_EQ(r.status, 200) << r.summary();
  json::object body = r.json().as_object();
  EXPECT_EQ(body.at("id").as_string(), app.id);
  EXPECT_EQ(body.at("name").as_string(), "getter");
  EXPECT_EQ(body.at("created_at").as_string(), app.created_at);
  EXPECT_FALSE(body.contains("token")) << "a token must only be shown when it is issued";
}

TEST_F(AppsTest, NamesRoundTripExactly) {
  for (std::string name : {std::string("Café ☕ «ünïcode»"), std::string(200, 'n'),
                           std::string("quotes \" and \\ backslash"), std::string("   spaced   ")}) {
    CreatedApp app = create(name);
    EXPECT_EQ(app.name, name);
    HttpResponse r = server().get("/v1/apps/" + app.id, server().admin());
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.json().at("name").as_string(), name);
  }
}

TEST_F(AppsTest, GetUnknownAppIs404) {
  HttpResponse r = server().get("/v1/apps/01890000-0000-7000-8000-000000000000", server().admin());
  EXPECT_TRUE(IsProblem(r, 404, "not-found"));
  HttpResponse junk = server().get("/v1/apps/not-an-id", server().admin());
  EXPECT_TRUE(IsProblem(junk, 404, "not-found"));
}

TEST_F(AppsTest, ListContainsCreatedApps) {
  CreatedApp app = create("listed");
  HttpResponse r = server().get("/v1/apps?limit=1000", server().admin());
  ASSERT_EQ(r.status, 200) << r.summary();
  json::object body = r.json().as_object();
  ASSERT_TRUE(body.at("items").is_array());
  bool found = false;
  for (const auto& item : body.at("items").as_array()) {
    if (item.at("id").as_string() == app.id) {
      found = true;
      EXPECT_EQ(item.at("name").as_string(), "listed");
      EXPECT_EQ(item.at("created_at").as_string(), app.created_at);
      EXPECT_FALSE(item.as_object().contains("token"));
    }
  }
  EXPECT_TRUE(found) << r.body;
  EXPECT_TRUE(body.at("next_cursor").is_null()) << "fewer than 1000 apps: no next page";
}

TEST_F(AppsTest, PaginationWithLimitOneWalksEveryApp) {
  std::vector<std::string> created;
  for (int i = 0; i < 5; ++i) created.push_back(create("page-" + std::to_string(i)).id);
  std::size_t pages = 0;
  std::vector<std::string> walked = walk(1, &pages);
  std::vector<std::string> all = walk(1000);
  EXPECT_EQ(walked, all) << "walking with limit=1 must see the same apps as one big page";
  EXPECT_GE(pages, walked.size());
  std::set<std::string> unique(walked.begin(), walked.end());
  EXPECT_EQ(unique.size(), walked.size()) << "an app appeared on two pages";
  EXPECT_TRUE(std::is_sorted(walked.begin(), walked.end()));
  // The five new apps are there, in creation order.
  std::vector<std::string> seen;
  for (const auto& id : walked) {
    if (std::find(created.begin(), created.end(), id) != created.end()) seen.push_back(id);
  }
  EXPECT_EQ(seen, created);
}

TEST_F(AppsTest, PaginationWithLimitTwoAndCursor) {
  std::vector<std::string> created;
  for (int i = 0; i < 3; ++i) created.push_back(create("cursor-" + std::to_string(i)).id);
  // Starting after the first of the three: the next two are exactly the others.
  HttpResponse r = server().get("/v1/apps?limit=2&after=" + created[0], server().admin());
  ASSERT_EQ(r.status, 200) << r.summary();
  json::object body = r.json().as_object();
  const json::array& items = body.at("items").as_array();
  ASSERT_EQ(items.size(), 2u) << r.body;
  EXPECT_EQ(items[0].at("id").as_string(), created[1]);
  EXPECT_EQ(items[1].at("id").as_string(), created[2]);
  EXPECT_EQ(body.at("next_cursor").as_string(), created[2]);
  // cursor= is a synonym of after=.
  HttpResponse same = server().get("/v1/apps?limit=2&cursor=" + created[0], server().admin());
  EXPECT_EQ(same.body, r.body);
}

TEST_F(AppsTest, DeletedAppsAreSkippedByPagination) {
  std::vector<CreatedApp> apps;
  for (int i = 0; i < 3; ++i) apps.push_back(create("skip-" + std::to_string(i)));
  ASSERT_EQ(server().request("DELETE", "/v1/apps/" + apps[1].id, server().admin()).status, 204);
  std::vector<std::string> walked = walk(1);
  EXPECT_EQ(std::count(walked.begin(), walked.end(), apps[1].id), 0);
  EXPECT_EQ(std::count(walked.begin(), walked.end(), apps[0].id), 1);
  EXPECT_EQ(std::count(walked.begin(), walked.end(), apps[2].id), 1);
}

TEST_F(AppsTest, InvalidLimitIs422) {
  for (std::string limit : {"0", "1001", "-1", "abc", "", "1.5", "10x"}) {
    HttpResponse r = server().get("/v1/apps?limit=" + limit, server().admin());
    ASSERT_TRUE(IsProblem(r, 422, "validation-failed")) << "limit=" << limit;
    json::value v = r.json();
    ASSERT_EQ(v.at("errors").as_array().size(), 1u) << r.body;
    EXPECT_EQ(v.at("errors").at(0).at("field").as_string(), "limit");
    EXPECT_FALSE(v.at("errors").at(0).at("message").as_string().empty());
  }
  EXPECT_EQ(server().get("/v1/apps?limit=1", server().admin()).status, 200);
  EXPECT_EQ(server().get("/v1/apps?limit=1000", server().admin()).status, 200);
}

TEST_F(AppsTest, DeleteRemovesTheAppAndItsToken) {
  CreatedApp app = create("doomed");
  // Before: the token authenticates (403 on an admin route, not 401).
  ASSERT_EQ(server().get("/v1/apps", bearer(app.token)).status, 403);

  HttpResponse del = server().request("DELETE", "/v1/apps/" + app.id, server().admin());
  ASSERT_EQ(del.status, 204) << del.summary();
  EXPECT_TRUE(del.body.empty());

  EXPECT_TRUE(IsProblem(server().get("/v1/apps/" + app.id, server().admin()), 404, "not-found"));
  HttpResponse after = server().get("/v1/apps", bearer(app.token));
  EXPECT_TRUE(IsProblem(after, 401, "unauthorized")) << "a deleted app's token must stop working at once";
  EXPECT_NE(after.header("WWW-Authenticate").find("invalid_token"), std::string::npos);
  // Deleting twice: the app is gone.
  EXPECT_TRUE(IsProblem(server().request("DELETE", "/v1/apps/" + app.id, server().admin()), 404, "not-found"));
  // Rotating a deleted app's token is refused too.
  EXPECT_TRUE(IsProblem(server().request("POST", "/v1/apps/" + app.id + "/token", server().admin()), 404, "not-found"));
}

TEST_F(AppsTest, DeleteUnknownAppIs404) {
  EXPECT_TRUE(IsProblem(server().request("DELETE", "/v1/apps/01890000-0000-7000-8000-000000000001", server().admin()),
                        404, "not-found"));
}

TEST_F(AppsTest, DeletingOneAppLeavesOthersAlone) {
  CreatedApp keep = create("keeper");
  CreatedApp drop = create("dropped");
  ASSERT_EQ(server().request("DELETE", "/v1/apps/" + drop.id, server().admin()).status, 204);
  EXPECT_EQ(server().get("/v1/apps/" + keep.id, server().admin()).status, 200);
  EXPECT_EQ(server().get("/v1/apps", bearer(keep.token)).status, 403) << "the other token still authenticates";
}

TEST_F(AppsTest, RotateIssuesANewTokenAndRevokesTheOld) {
  CreatedApp app = create("rotator");
  HttpResponse r = server().request("POST", "/v1/apps/" + app.id + "/token", server().admin());
  ASSERT_EQ(r.status, 200) << r.summary();
  json::object body = r.json().as_object();
  EXPECT_EQ(body.at("id").as_string(), app.id);
  EXPECT_EQ(body.at("name").as_string(), "rotator");
  EXPECT_EQ(body.at("created_at").as_string(), app.created_at);
  std::string fresh(body.at("token").as_string());
  EXPECT_TRUE(is_app_token(fresh)) << fresh;
  EXPECT_NE(fresh, app.token);

  // The old token fails at once; the new one authenticates (403: not admin).
  EXPECT_TRUE(IsProblem(server().get("/v1/apps", bearer(app.token)), 401, "unauthorized"));
  EXPECT_TRUE(IsProblem(server().get("/v1/apps", bearer(fresh)), 403, "forbidden"));

  // Rotating again revokes the second token as well.
  HttpResponse again = server().request("POST", "/v1/apps/" + app.id + "/token", server().admin());
  ASSERT_EQ(again.status, 200);
  std::string third(again.json().at("token").as_string());
  EXPECT_EQ(server().get("/v1/apps", bearer(fresh)).status, 401);
  EXPECT_EQ(server().get("/v1/apps", bearer(third)).status, 403);
  EXPECT_EQ(server().get("/v1/apps", bearer(app.token)).status, 401);
}

TEST_F(AppsTest, RotateUnknownAppIs404) {
  HttpResponse r = server().request("POST", "/v1/apps/01890000-0000-7000-8000-000000000002/token", server().admin());
  EXPECT_TRUE(IsProblem(r, 404, "not-found"));
}

TEST_F(AppsTest, AppTokenNeverReachesAdminRoutes) {
  CreatedApp app = create("not-an-admin");
  CreatedApp other = create("victim");
  Headers token = bearer(app.token);
  struct Call {
    std::string method, target, body;
  };
  std::vector<Call> calls = {
      {"GET", "/v1/apps", ""},
      {"POST", "/v1/apps", R"({"name":"sneaky"})"},
      {"GET", "/v1/apps/" + app.id, ""},
      {"GET", "/v1/apps/" + other.id, ""},
      {"DELETE", "/v1/apps/" + other.id, ""},
      {"DELETE", "/v1/apps/" + app.id, ""},
      {"POST", "/v1/apps/" + app.id + "/token", ""},
      {"POST", "/v1/apps/" + other.id + "/token", ""},
  };
  for (const auto& c : calls) {
    HttpResponse r = server().request(c.method, c.target, with(token, json_content()), c.body);
    EXPECT_TRUE(IsProblem(r, 403, "forbidden")) << c.method << " " << c.target;
  }
  // Nothing happened: both apps still exist with their tokens, no "sneaky" app.
  EXPECT_EQ(server().get("/v1/apps/" + other.id, server().admin()).status, 200);
  EXPECT_EQ(server().get("/v1/apps", bearer(app.token)).status, 403);
  EXPECT_EQ(server().get("/v1/apps", bearer(other.token)).status, 403);
  HttpResponse list = server().get("/v1/apps?limit=1000", server().admin());
  EXPECT_EQ(list.body.find("sneaky"), std::string::npos);
}

TEST_F(AppsTest, BearerSchemeIsCaseInsensitive) {
  EXPECT_EQ(server().get("/v1/apps", {{"Authorization", "bearer " + server().admin_token()}}).status, 200);
  EXPECT_EQ(server().get("/v1/apps", {{"Authorization", "BEARER " + server().admin_token()}}).status, 200);
  EXPECT_EQ(server().get("/v1/apps", {{"Authorization", "Bearer   " + server().admin_token() + "  "}}).status, 200);
}

TEST_F(AppsTest, TokensAreCaseSensitive) {
  std::string token = server().admin_token();
  for (auto& c : token) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(server().get("/v1/apps", bearer(token)).status, 401);
  CreatedApp app = create("case");
  EXPECT_EQ(server().get("/v1/apps", bearer(app.token + "x")).status, 401);
  EXPECT_EQ(server().get("/v1/apps", bearer(app.token.substr(0, app.token.size() - 1))).status, 401);
}

TEST_F(AppsTest, ConcurrentCreatesAllSucceedWithDistinctIds) {
  constexpr int threads = 4, per_thread = 5;
  std::vector<std::vector<std::string>> ids(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      Client c = server().connect();
      for (int i = 0; i < per_thread; ++i) {
        std::string body = R"({"name":"concurrent-)" + std::to_string(t) + "-" + std::to_string(i) + R"("})";
        HttpResponse r = c.request("POST", "/v1/apps", with(server().admin(), json_content()), body);
        if (r.status == 201) ids[t].push_back(std::string(r.json().at("id").as_string()));
      }
    });
  }
  for (auto& w : workers) w.join();
  std::set<std::string> unique;
  for (const auto& v : ids) {
    EXPECT_EQ(v.size(), static_cast<std::size_t>(per_thread));
    unique.insert(v.begin(), v.end());
  }
  EXPECT_EQ(unique.size(), static_cast<std::size_t>(threads * per_thread));
  for (const auto& id : unique) EXPECT_EQ(server().get("/v1/apps/" + id, server().admin()).status, 200);
}

}  // namespace
}  // namespace daisy_e2e
