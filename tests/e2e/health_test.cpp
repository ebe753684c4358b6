// Operational routes: /healthz, /readyz, /metrics, /openapi.yaml; request ids,
// HEAD, and the access log.
#include <boost/json.hpp>

#include <set>

#include "harness.h"
#include "postgres_server.h"

namespace daisy_e2e {
namespace {

class HealthTest : public SharedServer<HealthTest> {
 public:
  static DaisyProcess::Options options() { return {}; }

 protected:
  static std::string metrics() {
    HttpResponse r = server().get("/metrics");
    EXPECT_EQ(r.status, 200) << r.summary();
    return r.body;
  }
  static double sample(std::string_view series) { return metric_value(metrics(), series).value_or(0.0); }
};

TEST_F(HealthTest, HealthzAnswersOk) {
  HttpResponse r = server().get("/healthz");
  ASSERT_EQ(r.status, 200) << r.summary();
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(r.json(), boost::json::parse(R"({"status":"ok"})"));
  EXPECT_EQ(r.header("Content-Length"), std::to_string(r.body.size()));
  EXPECT_TRUE(is_hex32(r.header("X-Request-Id"))) << r.header("X-Request-Id");
}

TEST_F(HealthTest, ReadyzAnswersReady) {
  HttpResponse r = server().get("/readyz");
  ASSERT_EQ(r.status, 200) << r.summary();
  EXPECT_EQ(r.json(), boost::json::parse(R"({"status":"ready"})"));
}

TEST_F(HealthTest, HealthRoutesNeedNoToken) {
  // A wrong token must not turn a public route into a 401.
  EXPECT_EQ(server().get("/healthz", bearer("not-a-real-token")).status, 200);
  EXPECT_EQ(server().get("/readyz", bearer("not-a-real-token")).status, 200);
}

TEST_F(HealthTest, OpenApiDocumentIsServed) {
  HttpResponse r = server().get("/openapi.yaml");
  ASSERT_EQ(r.status, 200) << r.summary();
  EXPECT_EQ(r.body.rfind("openapi: 3.1", 0), 0u) << r.body.substr(0, 100);
  EXPECT_NE(r.header("Content-Type").find("yaml"), std::string::npos) << r.header("Content-Type");
}

TEST_F(HealthTest, MetricsExposePrometheusText) {
  ASSERT_EQ(server().get("/healthz").status, 200);
  ASSERT_EQ(server().create_app("metrics-probe").status, 201);
  // The request above is recorded after its reply is written: poll.
  std::string text;
  ASSERT_TRUE(eventually([&] {
    text = metrics();
    return metric_value(text, R"(daisy_http_requests_total{route="GET /healthz",status="200"})").has_value();
  })) << text;
  HttpResponse r = server().get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type").rfind("text/plain", 0), 0u) << r.header("Content-Type");
  for (std::string_view needle : {
           "# TYPE daisy_http_requests_total counter\n",
           "# TYPE daisy_http_request_duration_seconds histogram\n",
           "daisy_http_request_duration_seconds_bucket{route=\"GET /healthz\",le=\"+Inf\"} ",
           "daisy_http_request_duration_seconds_count{route=\"GET /healthz\"} ",
           "daisy_http_request_duration_seconds_sum{route=\"GET /healthz\"} ",
           "# TYPE daisy_http_requests_in_flight gauge\n",
           "# TYPE daisy_store_commit_seconds histogram\n",
           "daisy_store_commit_seconds_count ",
           "# TYPE daisy_store_commit_batch_size histogram\n",
           "daisy_store_commit_batch_size_count ",
       }) {
    EXPECT_NE(r.body.find(needle), std::string::npos) << "missing: " << needle;
  }
  // /metrics is itself being handled, so at least one request is in flight.
  EXPECT_GE(metric_value(r.body, "daisy_http_requests_in_flight").value_or(-1), 1.0);
  // An app was created: at least one group commit happened.
  EXPECT_GE(metric_value(r.body, "daisy_store_commit_batch_size_count").value_or(0), 1.0);
  EXPECT_GE(metric_value(r.body, "daisy_store_commit_seconds_count").value_or(0), 1.0);
}

// The series operators' alerts and dashboard read beside the requests'
// (deploy/prometheus/alerts.yml, deploy/grafana/daisy.json).
TEST_F(HealthTest, MetricsDescribeTheProcessTheBuildAndTheDisk) {
  std::string text = metrics();
  for (std::string_view family : {"process_cpu_seconds_total counter", "process_resident_memory_bytes gauge",
                                  "process_open_fds gauge", "process_max_fds gauge", "process_start_time_seconds gauge",
                                  "daisy_build_info gauge", "daisy_data_dir_free_bytes gauge",
                                  "daisy_data_dir_size_bytes gauge", "daisy_ready gauge", "daisy_store_up gauge"}) {
    EXPECT_NE(text.find("# TYPE " + std::string(family) + "\n"), std::string::npos) << family;
  }
  EXPECT_GT(metric_value(text, "process_cpu_seconds_total").value_or(0), 0.0);
  EXPECT_GT(metric_value(text, "process_resident_memory_bytes").value_or(0), 1e6);
  // The server holds at least its listening socket, the database and its logs.
  EXPECT_GE(metric_value(text, "process_open_fds").value_or(0), 3.0);
  EXPECT_GE(metric_value(text, "process_max_fds").value_or(0), metric_value(text, "process_open_fds").value_or(1));
  double started = metric_value(text, "process_start_time_seconds").value_or(0);
  double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(started, now + 1);
  EXPECT_GT(started, now - 24 * 3600) << "started by this suite, so within the day";
  auto build = text.find("daisy_build_info{version=\"" DAISY_TEST_VERSION "\",commit=\"");
  ASSERT_NE(build, std::string::npos) << text.substr(text.find("daisy_build_info"), 120);
  std::string line = text.substr(build, text.find('\n', build) - build);
  std::string commit = line.substr(line.find("commit=\"") + 8);
  ASSERT_TRUE(commit.ends_with("\"} 1")) << line;
  commit.resize(commit.size() - 4);
  EXPECT_TRUE(commit == "unknown" ||
              (commit.size() == 12 && commit.find_first_not_of("0123456789abcdef") == std::string::npos))
      << line;
  double free_bytes = metric_value(text, "daisy_data_dir_free_bytes").value_or(-1);
  EXPECT_GT(free_bytes, 0.0);
  EXPECT_LE(free_bytes, metric_value(text, "daisy_data_dir_size_bytes").value_or(0));
  std::string backend = on_postgres() ? "postgres" : "sqlite";
  EXPECT_EQ(metric_value(text, "daisy_ready{backend=\"" + backend + "\"}"), 1.0);
  EXPECT_EQ(metric_value(text, "daisy_store_up{backend=\"" + backend + "\"}"), 1.0);
}

TEST_F(HealthTest, RequestCounterIncreasesByTheNumberOfRequests) {
  constexpr std::string_view series = R"(daisy_http_requests_total{route="GET /healthz",status="200"})";
  constexpr std::string_view histogram = R"(daisy_http_request_duration_seconds_count{route="GET /healthz"})";
  // Settle: earlier requests may still be in the middle of being recorded.
  double before = sample(series);
  ASSERT_TRUE(eventually([&] {
    double now = sample(series);
    bool stable = now == before;
    before = now;
    return stable;
  }));
  double hist_before = sample(histogram);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(server().get("/healthz").status, 200);
  double after = 0;
  EXPECT_TRUE(eventually([&] { return (after = sample(series)) >= before + 3; })) << after;
  EXPECT_EQ(after, before + 3);
  EXPECT_EQ(sample(histogram), hist_before + 3);
}

TEST_F(HealthTest, CountersSeparateRoutesAndStatuses) {
  constexpr std::string_view unmatched = R"(daisy_http_requests_total{route="unmatched",status="404"})";
  constexpr std::string_view forbidden = R"(daisy_http_requests_total{route="GET /v1/apps",status="401"})";
  double u0 = sample(unmatched);
  double f0 = sample(forbidden);
  ASSERT_EQ(server().get("/no/such/route").status, 404);
  ASSERT_EQ(server().get("/no/such/route/either").status, 404);
  ASSERT_EQ(server().get("/v1/apps").status, 401);
  EXPECT_TRUE(eventually([&] { return sample(unmatched) >= u0 + 2 && sample(forbidden) >= f0 + 1; }));
  EXPECT_EQ(sample(unmatched), u0 + 2);
  EXPECT_EQ(sample(forbidden), f0 + 1);
}

TEST_F(HealthTest, GaugesReturnToRestAfterRequestsAndErrors) {
  // Requests that end in every kind of way: success, 401, 404, 405, 415, 422.
  Headers admin_json = with(server().admin(), json_content());
  EXPECT_EQ(server().get("/healthz").status, 200);
  EXPECT_EQ(server().get("/v1/apps").status, 401);
  EXPECT_EQ(server().get("/nowhere").status, 404);
  EXPECT_EQ(server().request("PUT", "/v1/apps").status, 405);
  EXPECT_EQ(server().request("POST", "/v1/apps", with(server().admin(), {{"Content-Type", "text/plain"}}), "x").status,
            415);
  EXPECT_EQ(server().request("POST", "/v1/apps", admin_json, "{}").status, 422);
  EXPECT_EQ(server().request("POST", "/v1/apps", admin_json, "{").status, 400);
  // Only the /metrics request itself is in flight, and only its connection open.
  std::string text;
  EXPECT_TRUE(eventually([&] {
    text = server().get("/metrics").body;
    return metric_value(text, "daisy_http_open_connections") == 1.0;
  })) << text;
  EXPECT_EQ(metric_value(text, "daisy_http_requests_in_flight"), 1.0) << text;
}

TEST_F(HealthTest, ValidRequestIdIsEchoed) {
  for (const std::string& id : std::vector<std::string>{"abc-123", "req_1.2:3", std::string(128, 'x')}) {
    HttpResponse r = server().get("/healthz", {{"X-Request-Id", id}});
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.header("X-Request-Id"), id);
    EXPECT_EQ(r.header_count("X-Request-Id"), 1u);
  }
}

TEST_F(HealthTest, InvalidRequestIdIsReplaced) {
  for (const std::string& id : std::vector<std::string>{"has space", "semi;colon", std::string(129, 'x'), "quote\"d"}) {
    HttpResponse r = server().get("/healthz", {{"X-Request-Id", id}});
    ASSERT_EQ(r.status, 200);
    EXPECT_NE(r.header("X-Request-Id"), id);
    EXPECT_TRUE(is_hex32(r.header("X-Request-Id"))) << r.header("X-Request-Id");
  }
}

TEST_F(HealthTest, GeneratedRequestIdsDiffer) {
  std::set<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.insert(server().get("/healthz").header("X-Request-Id"));
  EXPECT_EQ(ids.size(), 20u);
}

TEST_F(HealthTest, HeadMatchesGetWithoutBody) {
  ASSERT_EQ(server().create_app("head-probe").status, 201);
  std::string app_id;
  {
    HttpResponse list = server().get("/v1/apps?limit=1", server().admin());
    ASSERT_EQ(list.status, 200);
    app_id = std::string(list.json().at("items").at(0).at("id").as_string());
  }
  for (const std::string& path :
       std::vector<std::string>{"/healthz", "/readyz", "/openapi.yaml", "/v1/apps?limit=1", "/v1/apps/" + app_id}) {
    Client c = server().connect();
    ASSERT_TRUE(c.connected()) << c.error();
    HttpResponse get = c.request("GET", path, server().admin());
    HttpResponse head = c.request("HEAD", path, server().admin());
    // A third request on the same connection proves HEAD sent no body bytes.
    HttpResponse after = c.request("GET", "/healthz");
    ASSERT_EQ(get.status, 200) << path << ": " << get.summary();
    EXPECT_EQ(head.status, 200) << path << ": " << head.summary();
    EXPECT_FALSE(get.body.empty());
    EXPECT_EQ(head.header("Content-Length"), get.header("Content-Length")) << path;
    EXPECT_EQ(head.header("Content-Type"), get.header("Content-Type")) << path;
    EXPECT_EQ(after.status, 200) << path << ": " << after.summary();
    EXPECT_EQ(after.body, "{\"status\":\"ok\"}\n") << path;
  }
}

TEST_F(HealthTest, HeadOnErrorsHasNoBody) {
  Client c = server().connect();
  HttpResponse missing = c.request("HEAD", "/nowhere");
  HttpResponse unauth = c.request("HEAD", "/v1/apps");
  HttpResponse after = c.request("GET", "/healthz");
  EXPECT_EQ(missing.status, 404) << missing.summary();
  EXPECT_NE(missing.header("Content-Length"), "0");
  EXPECT_EQ(unauth.status, 401) << unauth.summary();
  EXPECT_EQ(after.status, 200) << after.summary();
  EXPECT_EQ(after.body, "{\"status\":\"ok\"}\n");
}

TEST_F(HealthTest, EveryRequestIsInTheAccessLog) {
  HttpResponse r = server().get("/healthz?probe=1", {{"X-Request-Id", "e2e-access-log-1"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(server().wait_for_err(
      // The target holds '=', so logfmt quotes it.
      "request_id=e2e-access-log-1 method=GET target=\"/healthz?probe=1\" route=/healthz status=200 "));
  HttpResponse a = server().get("/v1/apps", with(server().admin(), {{"X-Request-Id", "e2e-access-log-2"}}));
  ASSERT_EQ(a.status, 200);
  ASSERT_TRUE(server().wait_for_err("request_id=e2e-access-log-2 "));
  std::string err = server().err_text();
  std::string line = err.substr(err.find("request_id=e2e-access-log-2 "));
  line = line.substr(0, line.find('\n'));
  EXPECT_NE(line.find(" route=/v1/apps status=200 "), std::string::npos) << line;
  EXPECT_NE(line.find(" principal=admin "), std::string::npos) << line;
  EXPECT_NE(line.find(" remote=127.0.0.1"), std::string::npos) << line;
}

}  // namespace
}  // namespace daisy_e2e
