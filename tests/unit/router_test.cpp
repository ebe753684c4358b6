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
