// The operational routes: /healthz, /readyz, /metrics (and /openapi.yaml,
// in openapi_coverage_test.cpp).
#include <gtest/gtest.h>

#include <filesystem>

#include "api/routes.h"
#include "auth/authenticator.h"
#include "http/router.h"
#include "observability/metrics.h"
#include "store/sqlite/sqlite_store.h"
#include "test_support.h"

namespace {

using namespace daisy;
using http::Method;
using http::Response;

class HealthApi : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("daisy.db");
    store_ = std::make_unique<SqliteStore>(SqliteOptions{path_, false}, &metrics_);
    ctx_ = std::make_unique<api::ApiContext>(api::ApiContext{*store_, auth_, &metrics_});
    api::register_health_routes(router_, *ctx_);
  }

  Response get(std::string_view path) {
    http::Request req;
    req.method = Method::get;
    req.path = path;
    auto match = router_.match(Method::get, path, req);
    EXPECT_NE(match.route, nullptr) << path;
    if (!match.route) return Response(0, "");
    EXPECT_EQ(match.route->access, http::Access::public_) << path;
    return std::get<http::SyncHandler>(match.route->handler)(req);
  }

  test::TempDir dir_;
  std::string path_;
  Metrics metrics_;
  Authenticator auth_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<api::ApiContext> ctx_;
  http::Router router_;
};

TEST_F(HealthApi, RegistersTheFivePublicGetRoutes) {
  std::vector<std::string> patterns;
  for (const auto& p : router_.patterns()) {
    patterns.push_back(p.pattern);
    ASSERT_EQ(p.routes.size(), 1u);
    EXPECT_EQ(p.routes[0].method, Method::get);
    EXPECT_EQ(p.routes[0].access, http::Access::public_);
  }
  EXPECT_EQ(patterns, (std::vector<std::string>{"/healthz", "/readyz", "/metrics", "/openapi.yaml", "/openapi.json"}));
}

TEST_F(HealthApi, Healthz) {
  Response r = get("/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"status":"ok"})");
}

TEST_F(HealthApi, ReadyzWhenTheStoreAnswers) {
  Response r = get("/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"status":"ready"})");
  EXPECT_TRUE(r.headers.empty());
}

TEST_F(HealthApi, ReadyzWhenTheStoreDoesNotAnswer) {
  // No reader connection is open yet; with the file gone, a new one cannot be opened.
  std::filesystem::remove(path_);
  Response r = get("/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.content_type, "application/problem+json");
  EXPECT_NE(r.body.find("urn:daisy:problem:not-ready"), std::string::npos) << r.body;
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Retry-After");
  EXPECT_EQ(r.headers[0].second, "1");
}

TEST_F(HealthApi, MetricsInPrometheusTextFormat) {
  metrics_.set_routes(router_.route_labels());
  metrics_.record_request(0, 200, 0.001);
  Response r = get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("daisy_http_requests_total{route=\"GET /healthz\",status=\"200\"} 1\n"), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("\ndaisy_http_requests_in_flight 0\n"), std::string::npos);
}

TEST_F(HealthApi, MetricsWithoutARegistryIsEmpty) {
  ctx_->metrics = nullptr;
  Response r = get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.empty());
}

}  // namespace
