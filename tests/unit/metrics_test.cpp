#include "observability/metrics.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace daisy;

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

// The values of name_bucket{<labels>,le=...} lines in order, with their le.
std::vector<std::pair<std::string, std::uint64_t>> buckets(const std::string& text, const std::string& name,
                                                           const std::string& labels) {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  std::istringstream in(text);
  std::string line;
  std::string prefix = name + "_bucket{" + labels + (labels.empty() ? "" : ",") + "le=\"";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    auto close = line.find("\"}", prefix.size());
    out.emplace_back(line.substr(prefix.size(), close - prefix.size()), std::stoull(line.substr(close + 3)));
  }
  return out;
}

TEST(Histogram, ObservePlacesValuesInTheirBucket) {
  Histogram h({1, 2, 5});
  h.observe(0.5);  // <= 1
  h.observe(1);    // a value equal to a bound belongs to it (le)
  h.observe(1.5);  // <= 2
  h.observe(5);    // <= 5
  h.observe(7);    // +Inf
  h.observe(-3);   // <= 1
  auto snap = h.snapshot();
  EXPECT_EQ(snap.buckets, (std::vector<std::uint64_t>{3, 1, 1, 1}));
  EXPECT_EQ(snap.count, 6u);
  EXPECT_DOUBLE_EQ(snap.sum, 12.0);
}

TEST(Histogram, RendersCumulativeBuckets) {
  Histogram h({1, 2.5, 5});
  for (double v : {0.5, 0.75, 2.0, 4.0, 9.0}) h.observe(v);
  std::string out;
  h.render(out, "x", "");
  EXPECT_EQ(out,
            "x_bucket{le=\"1\"} 2\n"
            "x_bucket{le=\"2.5\"} 3\n"
            "x_bucket{le=\"5\"} 4\n"
            "x_bucket{le=\"+Inf\"} 5\n"
            "x_sum 16.25\n"
            "x_count 5\n");
  std::string labelled;
  h.render(labelled, "x", "route=\"r\"");
  EXPECT_TRUE(has_line(labelled, "x_bucket{route=\"r\",le=\"2.5\"} 3"));
  EXPECT_TRUE(has_line(labelled, "x_sum{route=\"r\"} 16.25"));
  EXPECT_TRUE(has_line(labelled, "x_count{route=\"r\"} 5"));
}

TEST(Histogram, SnapshotsAdd) {
  Histogram a({1}), b({1});
  a.observe(0.5);
  b.observe(2);
  b.observe(3);
  auto s = a.snapshot();
  s.add(b.snapshot());
  EXPECT_EQ(s.buckets, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(s.count, 3u);
  EXPECT_DOUBLE_EQ(s.sum, 5.5);
}

TEST(Metrics, RecordRequestCountsByRouteAndStatus) {
  Metrics m;
  m.set_routes({"GET /v1/apps", "POST /v1/apps"});
  m.record_request(0, 200, 0.003);
  m.record_request(0, 200, 0.2);
  m.record_request(0, 503, 0.001);
  m.record_request(1, 422, 0.0001);
  std::string text = m.render();
  EXPECT_TRUE(has_line(text, "daisy_http_requests_total{route=\"GET /v1/apps\",status=\"200\"} 2")) << text;
  EXPECT_TRUE(has_line(text, "daisy_http_requests_total{route=\"GET /v1/apps\",status=\"503\"} 1"));
  EXPECT_TRUE(has_line(text, "daisy_http_requests_total{route=\"POST /v1/apps\",status=\"422\"} 1"));
  EXPECT_FALSE(has_line(text, "daisy_http_requests_total{route=\"POST /v1/apps\",status=\"200\"} 0"))
      << "zero series are not rendered";
  EXPECT_TRUE(has_line(text, "# TYPE daisy_http_requests_total counter"));
  EXPECT_TRUE(has_line(text, "# TYPE daisy_http_request_duration_seconds histogram"));
}

TEST(Metrics, LatencyHistogramIsCumulative) {
  Metrics m;
  m.set_routes({"GET /healthz"});
  m.record_request(0, 200, 0.003);
  m.record_request(0, 200, 0.2);
  m.record_request(0, 200, 20);
  std::string text = m.render();
  auto b = buckets(text, "daisy_http_request_duration_seconds", "route=\"GET /healthz\"");
  ASSERT_EQ(b.size(), 17u);  // 16 bounds and +Inf
  for (std::size_t i = 1; i < b.size(); ++i) EXPECT_LE(b[i - 1].second, b[i].second) << b[i].first;
  EXPECT_EQ(b[0], (std::pair<std::string, std::uint64_t>{"0.0001", 0}));
  auto at = [&](const std::string& le) {
    for (const auto& [l, v] : b) {
      if (l == le) return v;
    }
    return std::uint64_t(999);
  };
  EXPECT_EQ(at("0.0025"), 0u);
  EXPECT_EQ(at("0.005"), 1u);
  EXPECT_EQ(at("0.1"), 1u);
  EXPECT_EQ(at("0.25"), 2u);
  EXPECT_EQ(at("10"), 2u);
  EXPECT_EQ(at("+Inf"), 3u);
  EXPECT_TRUE(has_line(text, "daisy_http_request_duration_seconds_count{route=\"GET /healthz\"} 3"));
}

TEST(Metrics, UnmatchedRoute) {
  Metrics m;
  m.set_routes({"GET /healthz"});
  EXPECT_EQ(m.unmatched_route(), 1u);
  m.record_request(m.unmatched_route(), 404, 0.001);
  m.record_request(99, 400, 0.001);  // out of range: counted as unmatched
  std::string text = m.render();
  EXPECT_TRUE(has_line(text, "daisy_http_requests_total{route=\"unmatched\",status=\"404\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "daisy_http_requests_total{route=\"unmatched\",status=\"400\"} 1"));
  EXPECT_TRUE(has_line(text, "daisy_http_request_duration_seconds_count{route=\"unmatched\"} 2"));
  EXPECT_EQ(text.find("route=\"GET /healthz\""), std::string::npos);
}

TEST(Metrics, UntrackedStatusKeepsItsCode) {
  Metrics m;
  m.set_routes({"GET /x"});
  m.record_request(0, 418, 0.001);
  EXPECT_TRUE(has_line(m.render(), "daisy_http_requests_total{route=\"GET /x\",status=\"418\"} 1"));
}

TEST(Metrics, LabelsAreEscaped) {
  Metrics m;
  m.set_routes({"GET /a\"b\\c"});
  m.record_request(0, 200, 0.001);
  EXPECT_TRUE(has_line(m.render(), "daisy_http_requests_total{route=\"GET /a\\\"b\\\\c\",status=\"200\"} 1"));
}

TEST(Metrics, GaugesCountersAndCollectors) {
  Metrics m;
  m.in_flight = 3;
  m.open_connections = 7;
  m.rejected_overload = 2;
  m.connections_timed_out = 5;
  m.commit_batch_size.observe(4);
  m.add_collector([](std::string& out) { out += "daisy_custom_total 42\n"; });
  std::string text = m.render();
  EXPECT_TRUE(has_line(text, "daisy_http_requests_in_flight 3"));
  EXPECT_TRUE(has_line(text, "daisy_http_open_connections 7"));
  EXPECT_TRUE(has_line(text, "daisy_http_rejected_overload_total 2"));
  EXPECT_TRUE(has_line(text, "daisy_http_connections_timed_out_total 5"));
  EXPECT_TRUE(has_line(text, "daisy_store_commit_batch_size_bucket{le=\"2\"} 0"));
  EXPECT_TRUE(has_line(text, "daisy_store_commit_batch_size_bucket{le=\"4\"} 1"));
  EXPECT_TRUE(has_line(text, "daisy_store_commit_batch_size_count 1"));
  EXPECT_TRUE(has_line(text, "daisy_store_commit_seconds_count 0"));
  EXPECT_TRUE(has_line(text, "daisy_custom_total 42"));
}

TEST(Metrics, ShardsFromManyThreadsAddUp) {
  Metrics m;
  m.set_routes({"GET /x"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) m.record_request(0, 200, 0.001);
    });
  }
  for (auto& t : threads) t.join();
  std::string text = m.render();
  EXPECT_TRUE(has_line(text, "daisy_http_requests_total{route=\"GET /x\",status=\"200\"} 4000")) << text;
  EXPECT_TRUE(has_line(text, "daisy_http_request_duration_seconds_count{route=\"GET /x\"} 4000"));
}

}  // namespace
