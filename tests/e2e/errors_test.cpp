// Every error reply: 400, 401, 403, 404, 405, 413, 415, 422, all as
// application/problem+json with a request id.
#include <boost/json.hpp>

#include <algorithm>
#include <thread>

#include "harness.h"

namespace daisy_e2e {
namespace {

namespace json = boost::json;

class ErrorsTest : public SharedServer<ErrorsTest> {
 public:
  static DaisyProcess::Options options() { return {}; }

 protected:
  static HttpResponse post_apps(std::string_view body, Headers extra = json_content()) {
    return server().request("POST", "/v1/apps", with(server().admin(), extra), body);
  }
  static std::vector<std::string> error_fields(const HttpResponse& r) {
    std::vector<std::string> fields;
    json::value v = r.json();
    if (!v.is_object() || !v.as_object().contains("errors")) return fields;
    for (const auto& e : v.at("errors").as_array()) {
      fields.emplace_back(e.at("field").as_string());
      EXPECT_FALSE(e.at("message").as_string().empty()) << r.body;
    }
    return fields;
  }
  static std::size_t app_count() {
    HttpResponse r = server().get("/v1/apps?limit=1000", server().admin());
    EXPECT_EQ(r.status, 200);
    return r.status == 200 ? r.json().at("items").as_array().size() : 0;
  }
};

TEST_F(ErrorsTest, UnknownRouteIs404Problem) {
  for (std::string path :
       {"/", "/nope", "/v1", "/v1/apps/", "/v1/apps/x/y", "/healthz/", "/v2/apps", "/v1/apps/x/token/more"}) {
    HttpResponse r = server().get(path, server().admin());
    EXPECT_TRUE(IsProblem(r, 404, "not-found")) << path;
  }
  HttpResponse r = server().get("/nope");
  json::object body = r.json().as_object();
  EXPECT_EQ(body.at("title").as_string(), "Not Found");
  EXPECT_EQ(r.header("Content-Type"), "application/problem+json");
  EXPECT_TRUE(is_hex32(r.header("X-Request-Id")));
}

TEST_F(ErrorsTest, ErrorRepliesEchoTheRequestId) {
  HttpResponse r = server().get("/nope", {{"X-Request-Id", "err-echo-1"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.header("X-Request-Id"), "err-echo-1");
  HttpResponse u = server().get("/v1/apps", {{"X-Request-Id", "err-echo-2"}});
  EXPECT_EQ(u.status, 401);
  EXPECT_EQ(u.header("X-Request-Id"), "err-echo-2");
}

TEST_F(ErrorsTest, WrongMethodIs405WithAllow) {
  struct Case {
    std::string method, path;
    std::vector<std::string> allowed;
  };
  std::vector<Case> cases = {
      {"PUT", "/v1/apps", {"GET", "POST", "HEAD"}},
      {"DELETE", "/v1/apps", {"GET", "POST"}},
      {"PUT", "/v1/apps/some-id", {"GET", "PATCH", "DELETE", "HEAD"}},
      {"GET", "/v1/apps/some-id/token", {"POST"}},
      {"POST", "/healthz", {"GET", "HEAD"}},
      {"DELETE", "/metrics", {"GET", "HEAD"}},
      {"OPTIONS", "/v1/apps", {"GET", "POST"}},
      {"BREW", "/healthz", {"GET"}},
  };
  for (const auto& c : cases) {
    HttpResponse r = server().request(c.method, c.path, server().admin());
    EXPECT_TRUE(IsProblem(r, 405, "method-not-allowed")) << c.method << " " << c.path;
    std::string allow = r.header("Allow");
    for (const auto& m : c.allowed) {
      EXPECT_NE(allow.find(m), std::string::npos) << c.method << " " << c.path << ": Allow is '" << allow << "'";
    }
    EXPECT_EQ(allow.find(c.method), std::string::npos) << "Allow lists the refused method: " << allow;
  }
}

TEST_F(ErrorsTest, MalformedJsonIs400NamingTheLineAndColumn) {
  HttpResponse r = post_apps("{\n  \"name\": \"x\",\n  oops\n}");
  ASSERT_TRUE(IsProblem(r, 400, "malformed-json"));
  std::string detail(r.json().at("detail").as_string());
  EXPECT_NE(detail.find("line 3"), std::string::npos) << detail;
  EXPECT_NE(detail.find("column 3"), std::string::npos) << detail;

  for (std::string body :
       {"{", "{\"name\":", "[1,2", "{\"name\": \"x\"} trailing", "nul", "{'name':'x'}", "\xff\xfe{}"}) {
    HttpResponse bad = post_apps(body);
    EXPECT_TRUE(IsProblem(bad, 400, "malformed-json")) << body;
    EXPECT_NE(bad.json().at("detail").as_string().find("line 1"), std::string::npos) << bad.body;
  }
}

TEST_F(ErrorsTest, EmptyJsonBodyIs400) {
  HttpResponse r = post_apps("");
  EXPECT_TRUE(IsProblem(r, 400, "malformed-json"));
  HttpResponse none = server().request("POST", "/v1/apps", server().admin());
  EXPECT_TRUE(IsProblem(none, 400, "malformed-json")) << "no body and no Content-Type";
}

TEST_F(ErrorsTest, WrongContentTypeIs415) {
  std::size_t before = app_count();
  HttpResponse text = post_apps(R"({"name":"typed"})", {{"Content-Type", "text/plain"}});
  EXPECT_TRUE(IsProblem(text, 415, "unsupported-media-type"));
  EXPECT_NE(text.json().at("detail").as_string().find("application/json"), std::string::npos) << text.body;
  HttpResponse form = post_apps("name=typed", {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_TRUE(IsProblem(form, 415, "unsupported-media-type"));
  HttpResponse none = post_apps(R"({"name":"typed"})", {});
  EXPECT_TRUE(IsProblem(none, 415, "unsupported-media-type")) << "a body without Content-Type";
  EXPECT_EQ(app_count(), before) << "a refused request must not create an app";
}

// Only POST /v1/events inflates gzip; elsewhere a compressed body would be
// read as JSON bytes, so it is refused, naming the header.
TEST_F(ErrorsTest, ContentEncodingIsRefusedWhereTheRouteTakesNone) {
  std::size_t before = app_count();
  for (std::string encoding : {"gzip", "deflate", "br", "GZIP"}) {
    HttpResponse r = post_apps(R"({"name":"zipped"})", with(json_content(), {{"Content-Encoding", encoding}}));
    EXPECT_TRUE(IsProblem(r, 415, "unsupported-media-type")) << encoding << ": " << r.summary();
    EXPECT_EQ(error_fields(r), std::vector<std::string>{"Content-Encoding"}) << r.body;
  }
  EXPECT_EQ(app_count(), before);
  EXPECT_EQ(post_apps(R"({"name":"plain"})", with(json_content(), {{"Content-Encoding", "identity"}})).status, 201);
}

// Bytes of the path that are not UTF-8 never reach a JSON reply raw: every
// reply stays valid JSON.
TEST_F(ErrorsTest, PathsThatAreNotUtf8GiveValidJsonReplies) {
  for (std::string target : {"/v1/apps/%FF%FE", "/v1/apps/%C3", "/v1/forms/%ED%A0%80/responses", "/v1/apps/%00x",
                             "/v1/events/%E2%80%AE", "/nope/%FF", "/v1/apps/\xff\xfe"}) {
    HttpResponse r = server().get(target, server().admin());
    EXPECT_GE(r.status, 400) << target;
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    EXPECT_FALSE(ec) << target << ": the reply is not valid JSON: " << r.body;
  }
  EXPECT_EQ(server().get("/healthz").status, 200);
}

TEST_F(ErrorsTest, JsonContentTypeWithParametersIsAccepted) {
  EXPECT_EQ(post_apps(R"({"name":"charset"})", {{"Content-Type", "application/json; charset=utf-8"}}).status, 201);
  EXPECT_EQ(post_apps(R"({"name":"upper"})", {{"Content-Type", "Application/JSON"}}).status, 201);
}

TEST_F(ErrorsTest, BodyOver1MiBIs413) {
  // A client that sends its whole 2 MiB body: the server refuses on the
  // declared length and drains, so the client reads the 413 (not a reset).
  std::string body = R"({"name":")" + std::string(2 * 1024 * 1024, 'a') + R"("})";
  Client c = server().connect();
  std::string request = build_request("POST", "/v1/apps", with(server().admin(), json_content()), body);
  std::thread writer([&] { c.send_raw(request); });
  HttpResponse r = c.read_response();
  writer.join();
  EXPECT_TRUE(IsProblem(r, 413, "body-too-large"));
  EXPECT_EQ(r.header("Connection"), "close");
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(ErrorsTest, DeclaredLengthOverLimitIsRefusedBeforeTheBody) {
  Client c = server().connect();
  ASSERT_TRUE(c.send_raw(
      build_request("POST", "/v1/apps",
                    with(server().admin(), {{"Content-Type", "application/json"}, {"Content-Length", "2097152"}}))));
  HttpResponse r = c.read_response();
  EXPECT_TRUE(IsProblem(r, 413, "body-too-large"));
  EXPECT_NE(r.json().at("detail").as_string().find("1048576"), std::string::npos) << r.body;
}

TEST_F(ErrorsTest, ChunkedBodyOverLimitIs413) {
  Client c = server().connect();
  std::string head =
      build_request("POST", "/v1/apps",
                    with(server().admin(), {{"Content-Type", "application/json"}, {"Transfer-Encoding", "chunked"}}));
  std::thread writer([&] {
    if (!c.send_raw(head)) return;
    std::string chunk(64 * 1024, 'x');
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
    for (int i = 0; i < 32; ++i) {  // 2 MiB in all
      if (!c.send_raw(std::string(size) + chunk + "\r\n")) return;
    }
    c.send_raw("0\r\n\r\n");
  });
  HttpResponse r = c.read_response();
  writer.join();
  EXPECT_TRUE(IsProblem(r, 413, "body-too-large"));
}

TEST_F(ErrorsTest, MissingTokenIs401WithChallenge) {
  for (std::string target : {"/v1/apps", "/v1/apps/x"}) {
    HttpResponse r = server().get(target);
    EXPECT_TRUE(IsProblem(r, 401, "unauthorized")) << target;
    EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer") << target;
  }
  HttpResponse post = server().request("POST", "/v1/apps", json_content(), R"({"name":"x"})");
  EXPECT_TRUE(IsProblem(post, 401, "unauthorized"));
}

TEST_F(ErrorsTest, BadTokensAre401) {
  std::vector<Headers> cases = {
      bearer("dsy_app_thisTokenDoesNotExistAtAllxxxxxxxxxxxxxxxx"),
      bearer("garbage"),
      {{"Authorization", "Bearer"}},
      {{"Authorization", "Bearer "}},
      {{"Authorization", "Basic dXNlcjpwYXNz"}},
      {{"Authorization", std::string(kAdminToken)}},
      {{"Authorization", "Bearer " + std::string(600, 'a')}},
  };
  for (const auto& h : cases) {
    HttpResponse r = server().get("/v1/apps", h);
    EXPECT_TRUE(IsProblem(r, 401, "unauthorized")) << h[0].second.substr(0, 60);
    EXPECT_TRUE(r.has_header("WWW-Authenticate"));
    EXPECT_NE(r.header("WWW-Authenticate").find("invalid_token"), std::string::npos) << h[0].second.substr(0, 60);
  }
}

TEST_F(ErrorsTest, AuthenticationComesBeforeBodyChecks) {
  // Without a valid token nothing about the body is revealed.
  EXPECT_EQ(server().request("POST", "/v1/apps", {{"Content-Type", "text/plain"}}, "hello").status, 401);
  EXPECT_EQ(server().request("POST", "/v1/apps", json_content(), "{bad json").status, 401);
  EXPECT_EQ(server().request("POST", "/v1/apps", json_content(), R"({"nope":1})").status, 401);
}

TEST_F(ErrorsTest, MissingNameIs422) {
  HttpResponse r = post_apps("{}");
  ASSERT_TRUE(IsProblem(r, 422, "validation-failed"));
  EXPECT_EQ(r.json().at("title").as_string(), "Unprocessable Content");
  EXPECT_EQ(error_fields(r), std::vector<std::string>{"name"});
}

TEST_F(ErrorsTest, EmptyNameIs422) {
  HttpResponse r = post_apps(R"({"name":""})");
  ASSERT_TRUE(IsProblem(r, 422, "validation-failed"));
  EXPECT_EQ(error_fields(r), std::vector<std::string>{"name"});
}

TEST_F(ErrorsTest, InvalidNamesAre422) {
  std::size_t before = app_count();
  for (std::string body :
       std::vector<std::string>{R"({"name":123})", R"({"name":null})", R"({"name":["a"]})", R"({"name":"tab\there"})",
                                R"({"name":"nul\u0000"})", "{\"name\":\"" + std::string(201, 'n') + "\"}"}) {
    HttpResponse r = post_apps(body);
    EXPECT_TRUE(IsProblem(r, 422, "validation-failed")) << body.substr(0, 60);
    EXPECT_EQ(error_fields(r), std::vector<std::string>{"name"}) << body.substr(0, 60);
  }
  EXPECT_EQ(app_count(), before);
}

TEST_F(ErrorsTest, UnknownFieldIs422NamingIt) {
  HttpResponse r = post_apps(R"({"name":"ok","colour":"blue"})");
  ASSERT_TRUE(IsProblem(r, 422, "validation-failed"));
  EXPECT_EQ(error_fields(r), std::vector<std::string>{"colour"});
  HttpResponse both = post_apps(R"({"nmae":"typo"})");
  ASSERT_TRUE(IsProblem(both, 422, "validation-failed"));
  auto fields = error_fields(both);
  EXPECT_NE(std::find(fields.begin(), fields.end(), "name"), fields.end()) << both.body;
  EXPECT_NE(std::find(fields.begin(), fields.end(), "nmae"), fields.end()) << both.body;
}

TEST_F(ErrorsTest, NonObjectBodyIs422) {
  for (std::string body : {"[]", "\"name\"", "42", "null"}) {
    HttpResponse r = post_apps(body);
    EXPECT_TRUE(IsProblem(r, 422, "validation-failed")) << body;
  }
}

// A server with a small body limit.
class SmallBodyLimitTest : public SharedServer<SmallBodyLimitTest> {
 public:
  static DaisyProcess::Options options() { return {{"--max-body-bytes", "2048"}}; }
};

TEST_F(SmallBodyLimitTest, BodyOverConfiguredLimitIs413) {
  std::string body = R"({"name":"x")" + std::string(4096, ' ') + "}";
  HttpResponse r = server().request("POST", "/v1/apps", with(server().admin(), json_content()), body);
  EXPECT_TRUE(IsProblem(r, 413, "body-too-large"));
  EXPECT_NE(r.json().at("detail").as_string().find("2048"), std::string::npos) << r.body;
}

TEST_F(SmallBodyLimitTest, BodyUnderConfiguredLimitIsAccepted) {
  std::string body = R"({"name":"small-limit")" + std::string(1900, ' ') + "}";
  ASSERT_LT(body.size(), 2048u);
  ASSERT_GT(body.size(), 1024u);
  HttpResponse r = server().request("POST", "/v1/apps", with(server().admin(), json_content()), body);
  EXPECT_EQ(r.status, 201) << r.summary();
}

TEST_F(SmallBodyLimitTest, ChunkedBodyOverConfiguredLimitIs413) {
  std::string body = R"({"name":"x")" + std::string(4096, ' ') + "}";
  std::string chunked;
  for (std::size_t i = 0; i < body.size(); i += 1000) {
    std::string part = body.substr(i, 1000);
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", part.size());
    chunked += size + part + "\r\n";
  }
  chunked += "0\r\n\r\n";
  HttpResponse r = server().request(
      "POST", "/v1/apps",
      with(server().admin(), {{"Content-Type", "application/json"}, {"Transfer-Encoding", "chunked"}}), chunked);
  EXPECT_TRUE(IsProblem(r, 413, "body-too-large"));
}

}  // namespace
}  // namespace daisy_e2e
