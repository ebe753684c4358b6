#include "http/router.h"

#include <gtest/gtest.h>

using namespace daisy::http;

namespace {
SyncHandler ok() {
  return [](Request&) { return Response(200, "{}"); };
}
}  // namespace

TEST(Router, MatchesLiteralAndParameterSegments) {
  Router router;
  router.add(Method::get, "/v1/apps", Access::admin, ok());
  router.add(Method::get, "/v1/apps/{id}", Access::admin, ok());
  router.add(Method::post, "/v1/apps/{id}/token", Access::admin, ok());
  Request req;
  auto m = router.match(Method::get, "/v1/apps/abc", req);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.pattern->pattern, "/v1/apps/{id}");
  EXPECT_EQ(req.param(0), "abc");
  EXPECT_EQ(router.match(Method::get, "/v1/apps", req).pattern->pattern, "/v1/apps");
  EXPECT_EQ(router.match(Method::get, "/v1/apps/", req).pattern, nullptr);
  EXPECT_EQ(router.match(Method::get, "/v1/apps/a/b", req).pattern, nullptr);
  EXPECT_EQ(router.match(Method::get, "/v1/app", req).pattern, nullptr);
}

TEST(Router, WrongMethodReportsAllowedOnes) {
  Router router;
  router.add(Method::get, "/v1/apps", Access::admin, ok());
  router.add(Method::post, "/v1/apps", Access::admin, ok());
  Request req;
  auto m = router.match(Method::del, "/v1/apps", req);
  ASSERT_NE(m.pattern, nullptr);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.pattern->allow, "GET, HEAD, POST");
}

TEST(Router, HeadUsesGetRoute) {
  Router router;
  router.add(Method::get, "/healthz", Access::public_, ok());
  Request req;
  EXPECT_NE(router.match(Method::head, "/healthz", req).route, nullptr);
}

TEST(Router, DecodesPercentEncodedParameters) {
  Router router;
  router.add(Method::get, "/v1/event-types/{category}/{name}", Access::admin, ok());
  Request req;
  auto m = router.match(Method::get, "/v1/event-types/page%20interaction/cta%20click", req);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(req.param(0), "page interaction");
  EXPECT_EQ(req.param(1), "cta click");
}

TEST(Router, RejectsDuplicateRoutes) {
  Router router;
  router.add(Method::get, "/x", Access::public_, ok());
  EXPECT_THROW(router.add(Method::get, "/x", Access::public_, ok()), std::invalid_argument);
}

TEST(Router, PatternsMustStartWithASlash) {
  Router router;
  EXPECT_THROW(router.add(Method::get, "v1/apps", Access::public_, ok()), std::invalid_argument);
  EXPECT_THROW(router.add(Method::get, "", Access::public_, ok()), std::invalid_argument);
  EXPECT_TRUE(router.patterns().empty());
}

TEST(Router, AllowListsEveryMethodOfThePattern) {
  Router router;
  router.add(Method::get, "/v1/apps/{id}", Access::admin, ok());
  router.add(Method::del, "/v1/apps/{id}", Access::admin, ok());
  router.add(Method::post, "/v1/apps/{id}/token", Access::admin, ok());
  Request req;
  auto m = router.match(Method::post, "/v1/apps/x", req);
  ASSERT_NE(m.pattern, nullptr);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.pattern->allow, "GET, HEAD, DELETE");
  auto t = router.match(Method::get, "/v1/apps/x/token", req);
  ASSERT_NE(t.pattern, nullptr);
  EXPECT_EQ(t.route, nullptr);
  EXPECT_EQ(t.pattern->allow, "POST");
}

TEST(Router, HeadIsNotServedByOtherMethods) {
  Router router;
  router.add(Method::post, "/v1/apps/{id}/token", Access::admin, ok());
  Request req;
  auto m = router.match(Method::head, "/v1/apps/x/token", req);
  ASSERT_NE(m.pattern, nullptr);
  EXPECT_EQ(m.route, nullptr);
}

TEST(Router, RouteLabelsFollowRegistrationOrder) {
  Router router;
  router.add(Method::get, "/healthz", Access::public_, ok());
  router.add(Method::post, "/v1/apps", Access::admin, ok());
  router.add(Method::get, "/v1/apps", Access::admin, ok());
  router.add(Method::del, "/v1/apps/{id}", Access::admin, ok());
  EXPECT_EQ(router.route_labels(),
            (std::vector<std::string>{"GET /healthz", "POST /v1/apps", "GET /v1/apps", "DELETE /v1/apps/{id}"}));
  Request req;
  auto m = router.match(Method::get, "/v1/apps", req);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(router.route_labels()[m.route->metrics_index], "GET /v1/apps");
  auto d = router.match(Method::del, "/v1/apps/7", req);
  ASSERT_NE(d.route, nullptr);
  EXPECT_EQ(router.route_labels()[d.route->metrics_index], "DELETE /v1/apps/{id}");
  EXPECT_EQ(d.route->access, Access::admin);
}

TEST(Router, ParametersMustBeNonEmptySegments) {
  Router router;
  router.add(Method::post, "/v1/apps/{id}/token", Access::admin, ok());
  Request req;
  EXPECT_EQ(router.match(Method::post, "/v1/apps//token", req).pattern, nullptr);
  EXPECT_EQ(router.match(Method::post, "/v1/apps/x/token/", req).pattern, nullptr);
  EXPECT_EQ(router.match(Method::post, "/v1/apps/x", req).pattern, nullptr);
  EXPECT_EQ(router.match(Method::post, "v1/apps/x/token", req).pattern, nullptr);
  EXPECT_EQ(router.match(Method::post, "", req).pattern, nullptr);
  auto m = router.match(Method::post, "/v1/apps/x/token", req);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(req.param_count, 1u);
  EXPECT_EQ(req.param(0), "x");
}

TEST(Router, EncodedSlashStaysInsideItsParameter) {
  Router router;
  router.add(Method::post, "/v1/apps/{id}/token", Access::admin, ok());
  Request req;
  auto m = router.match(Method::post, "/v1/apps/a%2Fb/token", req);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(req.param(0), "a/b");
  // '+' is not a space in a path.
  ASSERT_NE(router.match(Method::post, "/v1/apps/a+b/token", req).route, nullptr);
  EXPECT_EQ(req.param(0), "a+b");
}

TEST(Router, ParametersAreRewrittenOnEachMatch) {
  Router router;
  router.add(Method::get, "/a/{x}/{y}", Access::public_, ok());
  router.add(Method::get, "/b/{z}", Access::public_, ok());
  Request req;
  ASSERT_NE(router.match(Method::get, "/a/1/2", req).route, nullptr);
  EXPECT_EQ(req.param_count, 2u);
  ASSERT_NE(router.match(Method::get, "/b/3", req).route, nullptr);
  EXPECT_EQ(req.param_count, 1u);
  EXPECT_EQ(req.param(0), "3");
}

TEST(Router, RootPattern) {
  Router router;
  router.add(Method::get, "/", Access::public_, ok());
  Request req;
  EXPECT_NE(router.match(Method::get, "/", req).route, nullptr);
  EXPECT_EQ(router.match(Method::get, "/x", req).pattern, nullptr);
  EXPECT_EQ(router.match(Method::get, "//", req).pattern, nullptr);
}

TEST(Router, HandlersAreCallable) {
  Router router;
  router.add(Method::get, "/x/{v}", Access::public_,
             SyncHandler([](Request& r) { return Response(200, "{\"v\":\"" + r.param(0) + "\"}"); }));
  Request req;
  auto m = router.match(Method::get, "/x/hello", req);
  ASSERT_NE(m.route, nullptr);
  Response r = std::get<SyncHandler>(m.route->handler)(req);
  EXPECT_EQ(r.body, "{\"v\":\"hello\"}");
}

// A later pattern that matches the path with the right method is found even
// when an earlier one matches the path only.
TEST(Router, LaterPatternWithTheRightMethodIsFound) {
  Router router;
  router.add(Method::get, "/v1/items/{id}", Access::admin, ok());
  router.add(Method::post, "/v1/items/batch", Access::admin, ok());
  Request req;
  auto m = router.match(Method::post, "/v1/items/batch", req);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.pattern->pattern, "/v1/items/batch");
}

// A pattern with more parameters than Request::max_params could never match.
TEST(Router, RefusesPatternsWithTooManyParameters) {
  Router router;
  EXPECT_THROW(router.add(Method::get, "/{a}/{b}/{c}/{d}/{e}/{f}/{g}", Access::public_, ok()), std::invalid_argument);
}
