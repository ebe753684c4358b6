// Capture from browsers and apps (issue 22): publishable keys and what they
// may do, allowed origins and CORS, sendBeacon bodies, per-key rate limits,
// client event ids (a repeat is stored once, and triggers nothing), and
// PostHog's capture format. Runs on SQLite and, in the e2e.pg pass, on
// PostgreSQL (the cluster test of ids sent to two nodes is in cluster_test.cpp).
#include <boost/json.hpp>

#include "harness.h"
#include "suite_support.h"

namespace daisy_e2e {
namespace {

using namespace fx;

struct WebApp {
  std::string id, token, key;
};

constexpr std::string_view kSession = "0193a1b2-c3d4-7000-8000-0000000000aa";

std::string event_json(std::string_view name, std::string_view id = "") {
  json::object e{{"session_id", kSession},
                 {"category", "page"},
                 {"name", name},
                 {"timestamp", "2026-01-01T10:00:00Z"},
                 {"data", json::object{{"path", "/pricing"}}}};
  if (!id.empty()) e["id"] = id;
  return dump(e);
}

class CaptureTest : public SharedServer<CaptureTest> {
 public:
  static DaisyProcess::Options options() { return {{"--allow-private-targets"}}; }

 protected:
  static WebApp web_app(std::string_view name = "web") {
    HttpResponse r = server().create_app(name);
    EXPECT_EQ(r.status, 201) << r.summary();
    if (r.status != 201) return {};
    json::value v = r.json();
    return {str(v, "id"), str(v, "token"), str(v, "publishable_key")};
  }

  static HttpResponse patch_app(const WebApp& app, std::string_view body) {
    return server().request("PATCH", "/v1/apps/" + app.id, admin_json(), body);
  }

  static HttpResponse send(std::string_view credential, std::string_view body, const Headers& extra = {}) {
    return server().request("POST", "/v1/events", with(token_json(credential), extra), body);
  }

  // The app's events named `name`, read with its secret token.
  static std::vector<json::value> events_named(const WebApp& app, std::string_view name) {
    HttpResponse r = server().get("/v1/events?limit=1000&name=" + std::string(name), bearer(app.token));
    EXPECT_EQ(r.status, 200) << r.summary();
    std::vector<json::value> out;
    if (r.status != 200) return out;
    json::value body = r.json();
    for (const auto& e : arr(body, "items")) out.push_back(e);
    return out;
  }
};

TEST_F(CaptureTest, AnAppHasAPublishableKeyShownByTheApiAndRotatable) {
  WebApp app = web_app();
  EXPECT_EQ(app.key.rfind("dpk_", 0), 0u) << app.key;
  HttpResponse got = server().get("/v1/apps/" + app.id, server().admin());
  ASSERT_EQ(got.status, 200) << got.summary();
  EXPECT_EQ(str(got.json(), "publishable_key"), app.key);
  EXPECT_FALSE(got.json().as_object().contains("token")) << "the secret token is never shown back";
  EXPECT_EQ(dump(at(got.json(), "allowed_origins")), "[]");
  EXPECT_EQ(dump(at(got.json(), "rate_limit")), R"({"events_per_second":1000,"burst":2000})");

  HttpResponse rotated = server().request("POST", "/v1/apps/" + app.id + "/publishable-key", server().admin());
  ASSERT_EQ(rotated.status, 200) << rotated.summary();
  std::string fresh = str(rotated.json(), "publishable_key");
  EXPECT_NE(fresh, app.key);
  EXPECT_TRUE(IsProblem(send(app.key, event_json("view")), 401, "unauthorized"));
  EXPECT_EQ(send(fresh, event_json("view")).status, 202);
  EXPECT_EQ(server().request("POST", "/v1/apps/" + app.id + "/publishable-key", bearer(app.token)).status, 403);
}

TEST_F(CaptureTest, APublishableKeyOnlySendsEventsAndResponsesToListedForms) {
  WebApp app = web_app();
  std::string form = create_form_id(server(), J(R"({"title":"t","questions":[{"key":"q","type":"text"}]})"));
  EXPECT_EQ(send(app.key, event_json("view")).status, 202);
  for (std::string_view target : {"/v1/events", "/v1/apps", "/v1/jobs", "/v1/forms"}) {
    EXPECT_TRUE(IsProblem(server().get(target, bearer(app.key)), 403, "forbidden")) << target;
  }
  EXPECT_TRUE(IsProblem(server().get("/v1/sessions/" + std::string(kSession), bearer(app.key)), 403, "forbidden"));
  EXPECT_TRUE(IsProblem(submit(server(), form, J(R"({"q":"a"})"), {}, app.key), 403, "forbidden"));

  HttpResponse listed = patch_app(app, dump(json::object{{"forms", json::array{json::string(form)}}}));
  ASSERT_EQ(listed.status, 200) << listed.summary();
  HttpResponse ok = submit(server(), form, J(R"({"q":"a"})"), {}, app.key);
  ASSERT_EQ(ok.status, 201) << ok.summary();
  EXPECT_EQ(str(ok.json(), "app_id"), app.id);
  EXPECT_TRUE(IsProblem(correct(server(), form, str(ok.json(), "id"), J(R"({"q":"b"})"), app.key), 403, "forbidden"));
  // The secret token still reads and corrects as before.
  EXPECT_EQ(server().get("/v1/events", bearer(app.token)).status, 200);
}

TEST_F(CaptureTest, AppSettingsAreCheckedFieldByField) {
  WebApp app = web_app();
  EXPECT_TRUE(IsValidationError(patch_app(app, R"({"allowed_origins":["https://ok.example","example.com"]})"),
                                {"allowed_origins[1]"}));
  EXPECT_TRUE(
      IsValidationError(patch_app(app, R"({"allowed_origins":["https://a.example/path"]})"), {"allowed_origins[0]"}));
  EXPECT_TRUE(IsValidationError(patch_app(app, R"({"forms":["0193a1b2-c3d4-7000-8000-123456789abc", 5]})"),
                                {"forms[0]", "forms[1]"}));
  EXPECT_TRUE(IsValidationError(patch_app(app, R"({"rate_limit":{"events_per_second":0,"burst":"x","y":1}})"),
                                {"rate_limit.y", "rate_limit.events_per_second", "rate_limit.burst"}));
  EXPECT_TRUE(IsValidationError(patch_app(app, R"({"colour":"red"})"), {"colour"}));
  // Nothing of a refused PATCH was applied.
  HttpResponse got = server().get("/v1/apps/" + app.id, server().admin());
  EXPECT_EQ(dump(at(got.json(), "allowed_origins")), "[]");
  HttpResponse ok = patch_app(app, R"({"allowed_origins":["https://*.example.com","http://127.0.0.1:8080"]})");
  ASSERT_EQ(ok.status, 200) << ok.summary();
  EXPECT_EQ(dump(at(ok.json(), "allowed_origins")), R"(["https://*.example.com","http://127.0.0.1:8080"])");
  EXPECT_EQ(str(ok.json(), "unknown_event_types"), "accept") << "fields not sent keep their values";
}

TEST_F(CaptureTest, PreflightsAndRequestsFollowTheAllowedOrigins) {
  WebApp app = web_app();
  ASSERT_EQ(patch_app(app, R"({"allowed_origins":["https://*.shop.example","http://127.0.0.1:8080"]})").status, 200);
  Headers preflight{{"Access-Control-Request-Method", "POST"},
                    {"Access-Control-Request-Headers", "authorization,content-type"}};
  HttpResponse allowed =
      server().request("OPTIONS", "/v1/events", with({{"Origin", "https://www.shop.example"}}, preflight));
  EXPECT_EQ(allowed.status, 204) << allowed.summary();
  EXPECT_EQ(allowed.header("Access-Control-Allow-Origin"), "https://www.shop.example");
  EXPECT_NE(allowed.header("Access-Control-Allow-Headers").find("Authorization"), std::string::npos);
  EXPECT_NE(allowed.header("Access-Control-Allow-Methods").find("POST"), std::string::npos);
  for (std::string_view origin :
       {"https://shop.example", "http://www.shop.example", "https://evil.example", "http://127.0.0.1:8081"}) {
    HttpResponse refused =
        server().request("OPTIONS", "/v1/events", with({{"Origin", std::string(origin)}}, preflight));
    EXPECT_EQ(refused.status, 204) << origin;
    EXPECT_FALSE(refused.has_header("Access-Control-Allow-Origin")) << origin;
  }
  HttpResponse on_form = server().request("OPTIONS", "/v1/forms/x/responses", {{"Origin", "http://127.0.0.1:8080"}});
  EXPECT_EQ(on_form.header("Access-Control-Allow-Origin"), "http://127.0.0.1:8080");
  // Routes pages do not call keep their 405.
  EXPECT_EQ(server().request("OPTIONS", "/v1/apps", {{"Origin", "http://127.0.0.1:8080"}}).status, 405);

  HttpResponse sent = send(app.key, event_json("cors-ok"), {{"Origin", "https://a.b.shop.example"}});
  EXPECT_EQ(sent.status, 202) << sent.summary();
  EXPECT_EQ(sent.header("Access-Control-Allow-Origin"), "https://a.b.shop.example");
  HttpResponse foreign = send(app.key, event_json("cors-refused"), {{"Origin", "https://evil.example"}});
  EXPECT_TRUE(IsProblem(foreign, 403, "origin-not-allowed"));
  EXPECT_TRUE(error_message(foreign, "Origin").has_value()) << foreign.body;
  // The secret token is not refused for its origin (servers send it), but no
  // page may read the reply.
  HttpResponse server_side = send(app.token, event_json("cors-token"), {{"Origin", "https://evil.example"}});
  EXPECT_EQ(server_side.status, 202);
  EXPECT_FALSE(server_side.has_header("Access-Control-Allow-Origin"));
  EXPECT_EQ(events_named(app, "cors-ok").size(), 1u);
  EXPECT_EQ(events_named(app, "cors-refused").size(), 0u);
  EXPECT_EQ(events_named(app, "cors-token").size(), 1u);
}

TEST_F(CaptureTest, BeaconBodiesComeAsTextWithThePublishableKeyInTheQuery) {
  WebApp app = web_app();
  ASSERT_EQ(patch_app(app, R"({"allowed_origins":["https://site.example"]})").status, 200);
  Headers beacon{{"Content-Type", "text/plain;charset=UTF-8"}, {"Origin", "https://site.example"}};
  HttpResponse r = server().request("POST", "/v1/events?key=" + app.key, beacon,
                                    R"({"events":[)" + event_json("beacon") + "," + event_json("beacon") + "]}");
  EXPECT_EQ(r.status, 202) << r.summary();
  EXPECT_EQ(r.header("Access-Control-Allow-Origin"), "https://site.example");
  EXPECT_EQ(events_named(app, "beacon").size(), 2u);

  // Only a publishable key may be put in a URL; a secret one is refused and
  // never written to the log.
  HttpResponse secret = server().request("POST", "/v1/events?key=" + app.token, beacon, event_json("beacon"));
  EXPECT_TRUE(IsProblem(secret, 401, "unauthorized"));
  EXPECT_NE(secret.body.find("publishable"), std::string::npos) << secret.body;
  EXPECT_TRUE(IsProblem(server().request("POST", "/v1/events?key=dpk_nope", beacon, event_json("beacon")), 401,
                        "unauthorized"));
  EXPECT_TRUE(server().wait_for_err("key=[redacted]"));
  EXPECT_EQ(server().err_text().find(app.token), std::string::npos) << "the secret token reached the log";
  // Elsewhere ?key= is no credential.
  EXPECT_TRUE(IsProblem(server().get("/v1/apps?key=" + app.key), 401, "unauthorized"));
}

TEST_F(CaptureTest, APublishableKeyIsRateLimitedPerEventWithRetryAfter) {
  WebApp app = web_app();
  ASSERT_EQ(patch_app(app, R"({"rate_limit":{"events_per_second":1,"burst":3}})").status, 200);
  std::string three =
      R"({"events":[)" + event_json("limited") + "," + event_json("limited") + "," + event_json("limited") + "]}";
  EXPECT_EQ(send(app.key, three).status, 202);
  HttpResponse refused = send(app.key, event_json("limited"));
  EXPECT_TRUE(IsProblem(refused, 429, "rate-limited"));
  ASSERT_TRUE(refused.has_header("Retry-After"));
  EXPECT_GE(std::stoi(refused.header("Retry-After")), 1);
  // The secret token is not limited by the key's bucket.
  EXPECT_EQ(send(app.token, event_json("limited")).status, 202);
  EXPECT_EQ(events_named(app, "limited").size(), 4u);
  // The bucket refills at its rate: a later event goes in.
  EXPECT_TRUE(eventually([&] { return send(app.key, event_json("limited")).status == 202; }, 10s));
}

TEST_F(CaptureTest, AnEventIdSentAgainIsAcknowledgedAndStoredOnce) {
  WebApp app = web_app();
  const std::string id = "0193A1B2-C3D4-7000-8000-00000000C0DE";  // upper case: stored lower
  const std::string stored_id = "0193a1b2-c3d4-7000-8000-00000000c0de";
  for (int i = 0; i < 2; ++i) {
    HttpResponse r = send(app.key, event_json("once", id));
    ASSERT_EQ(r.status, 202) << r.summary();
    EXPECT_EQ(str(r.json(), "id"), stored_id);
  }
  std::string batch = R"({"events":[)" + event_json("once", id) + "," + event_json("once-new", "") + "," +
                      event_json("once", stored_id) + "]}";
  HttpResponse b = send(app.token, batch);
  ASSERT_EQ(b.status, 202) << b.summary();
  EXPECT_EQ(num(b.json(), "accepted"), 3);
  EXPECT_EQ(arr(b.json(), "ids")[0].as_string(), stored_id);
  EXPECT_EQ(arr(b.json(), "ids")[2].as_string(), stored_id);
  // Two copies within one new batch: one row.
  const std::string twin = "0193a1b2-c3d4-7000-8000-00000000beef";
  HttpResponse twins =
      send(app.key, R"({"events":[)" + event_json("twin", twin) + "," + event_json("twin", twin) + "]}");
  EXPECT_EQ(twins.status, 202) << twins.summary();

  auto once = events_named(app, "once");
  ASSERT_EQ(once.size(), 1u);
  EXPECT_EQ(str(once[0], "id"), stored_id);
  EXPECT_EQ(events_named(app, "once-new").size(), 1u);
  EXPECT_EQ(events_named(app, "twin").size(), 1u);
  // Ids are per app: another app may use the same one.
  WebApp other = web_app("other");
  EXPECT_EQ(send(other.key, event_json("once", id)).status, 202);
  EXPECT_EQ(events_named(other, "once").size(), 1u);
  // Not a UUID: refused, naming the field.
  EXPECT_TRUE(HasFieldError(send(app.key, event_json("once", "not-a-uuid")), "id"));
}

TEST_F(CaptureTest, ARepeatedEventTriggersNoSecondJob) {
  WebApp app = web_app();
  json::object hook{{"name", "hook"},
                    {"source", json::object{{"app_id", app.id}}},
                    {"type", "webhook"},
                    {"config", json::object{{"url", "http://127.0.0.1:9/hook"}, {"timeout_ms", 200}}},
                    {"retry", json::object{{"schedule_s", J("[3600]")}}}};
  HttpResponse created = server().request("POST", "/v1/integrations", admin_json(), dump(hook));
  ASSERT_EQ(created.status, 201) << created.summary();
  const std::string id = "0193a1b2-c3d4-7000-8000-0000000a0b0c";
  HttpResponse first = send(app.key, event_json("job", id));
  ASSERT_EQ(first.status, 202) << first.summary();
  EXPECT_EQ(arr(first.json(), "actions").size(), 1u) << first.body;
  HttpResponse again = send(app.key, event_json("job", id));
  ASSERT_EQ(again.status, 202) << again.summary();
  EXPECT_EQ(arr(again.json(), "actions").size(), 0u) << "a repeat makes no job: " << again.body;
  HttpResponse batch = send(app.key, R"({"events":[)" + event_json("job", id) + "]}");
  EXPECT_EQ(arr(batch.json(), "actions").size(), 0u) << batch.body;
  HttpResponse jobs = server().get("/v1/jobs?source_id=" + id, server().admin());
  ASSERT_EQ(jobs.status, 200) << jobs.summary();
  EXPECT_EQ(arr(jobs.json(), "items").size(), 1u) << jobs.body;
}

TEST_F(CaptureTest, AnEventIdIsRememberedAcrossAKill) {
  WebApp app = web_app();
  const std::string id = "0193a1b2-c3d4-7000-8000-0000000dead9";
  ASSERT_EQ(send(app.key, event_json("durable", id)).status, 202);
  server().kill9();
  ASSERT_TRUE(server().start()) << server().start_error();
  HttpResponse again = send(app.key, event_json("durable", id));
  EXPECT_EQ(again.status, 202) << again.summary();
  EXPECT_EQ(events_named(app, "durable").size(), 1u);
}

TEST_F(CaptureTest, PostHogCaptureAndBatchBecomeEvents) {
  WebApp app = web_app();
  json::object one{{"api_key", app.key},
                   {"event", "signed up"},
                   {"distinct_id", "user-7"},
                   {"uuid", "0193a1b2-c3d4-7000-8000-00000000f00d"},
                   {"timestamp", "2026-01-01T10:00:00Z"},
                   {"properties", json::object{{"plan", "pro"}}}};
  HttpResponse r = server().request("POST", "/capture", json_content(), dump(one));
  ASSERT_EQ(r.status, 200) << r.summary();
  EXPECT_EQ(num(r.json(), "status"), 1);
  EXPECT_EQ(server().request("POST", "/capture", json_content(), dump(one)).status, 200) << "a retry";
  auto stored = events_named(app, "signed%20up");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(str(stored[0], "category"), "posthog");
  EXPECT_EQ(str(stored[0], "id"), "0193a1b2-c3d4-7000-8000-00000000f00d");
  EXPECT_EQ(dump(at(stored[0], "data")), R"({"plan":"pro","distinct_id":"user-7"})");

  json::object batch{
      {"api_key", app.key},
      {"batch",
       J(R"([{"event":"$pageview","properties":{"distinct_id":"user-7","$session_id":"0193a1b2-c3d4-7000-8000-0000000000ff"}},
                      {"event":"$pageview","distinct_id":"user-8","properties":{}},
                      {"event":"","distinct_id":"user-8"}])")}};
  HttpResponse b = server().request("POST", "/batch", {{"Content-Type", "text/plain"}}, dump(batch));
  ASSERT_EQ(b.status, 200) << b.summary();
  EXPECT_EQ(num(b.json(), "accepted"), 2);
  EXPECT_EQ(arr(b.json(), "rejected").size(), 1u);
  auto views = events_named(app, "%24pageview");
  ASSERT_EQ(views.size(), 2u);
  EXPECT_EQ(str(views[0], "session_id"), "0193a1b2-c3d4-7000-8000-0000000000ff");
  EXPECT_NE(str(views[1], "session_id"), str(stored[0], "session_id")) << "one session per person";

  one["api_key"] = app.token;  // the secret token is not a capture key
  EXPECT_TRUE(IsProblem(server().request("POST", "/capture", json_content(), dump(one)), 401, "unauthorized"));
  one.erase("api_key");
  HttpResponse keyless = server().request("POST", "/capture", json_content(), dump(one));
  EXPECT_TRUE(IsProblem(keyless, 401, "unauthorized"));
  EXPECT_EQ(error_message(keyless, "api_key"), "is required") << keyless.body;
}

}  // namespace
}  // namespace daisy_e2e
