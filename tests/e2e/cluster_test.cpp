// Several Daisy nodes on one PostgreSQL: each test starts a PostgreSQL of its
// own (so that it can restart it) and two daisy processes on it. They run in
// the PostgreSQL pass of the suite (e2e.pg.*) only.

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "fake_google.h"
#include "fake_provider.h"
#include "harness.h"
#include "postgres_server.h"
#include "suite_support.h"

namespace daisy_e2e {
namespace {

using namespace fx;
using daisy::e2e::FakeProvider;
using Reply = FakeProvider::Reply;

class ClusterTest : public OwnedServers {
 protected:
  void SetUp() override {
    if (!on_postgres()) GTEST_SKIP() << "several nodes need PostgreSQL: these run in the e2e.pg pass";
    pg_ = std::make_unique<PostgresServer>();
    ASSERT_TRUE(pg_->ok()) << pg_->error();
    std::string error;
    database_ = create_database(pg_->uri(), error);
    ASSERT_FALSE(database_.empty()) << error;
  }

  // A node on the test's database; short leases and polls so that the tests
  // see take-overs and changes within seconds.
  DaisyProcess& node(std::string cluster_poll_ms = "200") {
    DaisyProcess::Options o;
    o.args = {"--db", database_,           "--allow-private-targets", "--job-lease-ms",
              "3000", "--cluster-poll-ms", std::move(cluster_poll_ms)};
    DaisyProcess& d = make(std::move(o));
    EXPECT_TRUE(d.start()) << d.start_error();
    return d;
  }

  static json::value webhook_on_app(const DaisyProcess& d, const std::string& app_id, const std::string& url) {
    json::object body{{"name", "hook"},
                      {"source", json::object{{"app_id", app_id}}},
                      {"type", "webhook"},
                      {"config", json::object{{"url", url}, {"timeout_ms", 2000}}},
                      {"retry", json::object{{"schedule_s", J("[0,1,1,1,1,1,1,1]")}}}};
    HttpResponse r = d.request("POST", "/v1/integrations", admin_json(), dump(body));
    EXPECT_EQ(r.status, 201) << r.summary();
    return r.json();
  }

  // Posts one event as the app; the job ids of its actions ("" entries when it failed).
  static std::vector<std::string> send_event(const DaisyProcess& d, const App& app) {
    std::string event = R"({"session_id":"0193a1b2-c3d4-7000-8000-123456789abc","category":"ui","name":"click",)"
                        R"("data":{"n":1},"timestamp":"2026-01-01T10:00:00Z"})";
    HttpResponse r = d.request("POST", "/v1/events", token_json(app.token), event);
    EXPECT_EQ(r.status, 202) << r.summary();
    std::vector<std::string> ids;
    if (r.status != 202) return ids;
    json::value reply = r.json();
    for (const auto& a : arr(reply, "actions")) ids.push_back(str(a, "job_id"));
    return ids;
  }

  // One event through b once it attaches the app's integration (it learns of
  // it within a poll), then n more through a and b in turn: their job ids.
  static std::vector<std::string> events_through_both(const DaisyProcess& a, const DaisyProcess& b, const App& app,
                                                      int n) {
    std::vector<std::string> jobs;
    EXPECT_TRUE(eventually(
        [&] {
          auto ids = send_event(b, app);
          jobs.insert(jobs.end(), ids.begin(), ids.end());
          return ids.size() == 1;
        },
        10s));
    for (int i = 0; i < n; ++i) {
      auto ids = send_event(i % 2 ? b : a, app);
      jobs.insert(jobs.end(), ids.begin(), ids.end());
    }
    return jobs;
  }

  static std::string job_status(const DaisyProcess& d, const std::string& id) {
    HttpResponse r = d.get("/v1/jobs/" + id, d.admin());
    return r.status == 200 ? str(r.json(), "status") : "HTTP " + std::to_string(r.status);
  }

  // Starts a second process with a's node id (its data dir copied) and
  // expects it to refuse to start, saying why.
  void expect_duplicate_refused(const DaisyProcess& a) {
    std::string copy = a.data_dir() + "-copy";
    std::filesystem::create_directories(copy);
    std::filesystem::copy_file(a.data_dir() + "/node-id", copy + "/node-id");
    RunResult second = run_daisy({"serve", "--listen", "127.0.0.1:0", "--data-dir", copy, "--db", database_,
                                  "--admin-token", std::string(kAdminToken)},
                                 30s);
    std::filesystem::remove_all(copy);
    EXPECT_TRUE(second.status.exited && second.status.code != 0) << second.status.describe();
    EXPECT_NE(second.err.find("another running node has this node id"), std::string::npos) << second.err;
  }

  std::unique_ptr<PostgresServer> pg_;
  std::string database_;
};

// What one node creates (an app, a form, an integration) the other uses
// within seconds; submissions and events sent to both trigger jobs that are
// all delivered, each by one node.
TEST_F(ClusterTest, TwoNodesShareTheStateAndTheJobs) {
  FakeProvider receiver;
  receiver.set_handler("/hook", [](const FakeProvider::Request&) {
    return Reply{.status = 200, .body = "ok", .content_type = "text/plain"};
  });
  DaisyProcess& a = node();
  DaisyProcess& b = node();

  App app = make_app(a, "shop");
  // The token was issued by a: b learns it from the database.
  ASSERT_TRUE(eventually([&] { return b.get("/v1/events?limit=1", bearer(app.token)).status != 401; }, 10s));
  std::string form_id = create_form_id(a, J(R"({"title":"t","questions":[{"key":"n","type":"integer"}]})"));
  HttpResponse on_form = b.request("POST", "/v1/integrations", admin_json(),
                                   R"({"name":"crm","source":{"form_id":")" + form_id +
                                       R"("},"type":"webhook","on":["response.created"],)"
                                       R"("config":{"url":")" +
                                       receiver.url("/hook") + R"("}})");
  ASSERT_EQ(on_form.status, 201) << on_form.summary();
  // The app's integration is made after the form's: once a makes jobs for the
  // app's events it has loaded both (it reloads all integrations on a change).
  json::value hook = webhook_on_app(b, app.id, receiver.url("/hook"));
  // a attaches b's integrations to what it collects once it has seen them.
  ASSERT_TRUE(eventually([&] { return send_event(a, app).size() == 1; }, 10s));

  std::set<std::string> jobs;
  for (int i = 0; i < 40; ++i) {
    const DaisyProcess& to = i % 2 ? b : a;
    for (auto& id : send_event(to, app)) jobs.insert(id);
    HttpResponse r = submit(to, form_id, J(R"({"n":)" + std::to_string(i) + "}"));
    ASSERT_EQ(r.status, 201) << r.summary();
    json::value reply = r.json();
    ASSERT_EQ(arr(reply, "actions").size(), 1u) << dump(reply);
    jobs.insert(str(arr(reply, "actions")[0], "job_id"));
  }
  ASSERT_EQ(jobs.size(), 80u);
  std::set<std::string> delivered;
  ASSERT_TRUE(eventually(
      [&] {
        delivered.clear();
        for (const auto& r : receiver.requests("/hook")) delivered.insert(r.header("webhook-id"));
        return std::includes(delivered.begin(), delivered.end(), jobs.begin(), jobs.end());
      },
      30s))
      << delivered.size() << " of the jobs delivered";
  for (const auto& id : jobs) {
    EXPECT_TRUE(eventually([&] { return job_status(id.size() % 2 ? a : b, id) == "succeeded"; }, 10s)) << id;
  }
  // Every response is read back through either node.
  EXPECT_EQ(list_all_responses(b, form_id).size(), 40u);
  // Deleting the integration through a stops b from making its jobs.
  ASSERT_EQ(a.request("DELETE", "/v1/integrations/" + str(hook, "id"), a.admin()).status, 204);
  EXPECT_TRUE(eventually([&] { return send_event(b, app).empty(); }, 10s));
}

// A sheets integration's max_requests_per_minute holds for both nodes
// together: their requests to Google take turns from one pace row.
TEST_F(ClusterTest, TwoNodesShareASheetsIntegrationsQuota) {
  daisy::e2e::FakeGoogle google;
  DaisyProcess& a = node();
  DaisyProcess& b = node();
  std::string form_id = create_form_id(a, J(R"({"title":"t","questions":[{"key":"n","type":"integer"}]})"));
  json::object config{{"spreadsheet_id", google.spreadsheet_id()},
                      {"service_account", J(google.service_account_json())},
                      {"api_base", google.base_url()},
                      {"max_requests_per_minute", 240},  // one every 250 ms
                      {"batch_max_rows", 1},
                      {"batch_max_ms", 0}};
  json::object body{{"name", "sheet"},
                    {"source", json::object{{"form_id", form_id}}},
                    {"type", "sheets"},
                    {"config", std::move(config)}};
  HttpResponse created = a.request("POST", "/v1/integrations", admin_json(), dump(body));
  ASSERT_EQ(created.status, 201) << created.summary();
  const std::string integration_path = "/v1/integrations/" + str(created.json(), "id");
  std::set<std::string> ids;
  ASSERT_TRUE(eventually(
      [&] {
        HttpResponse r = submit(b, form_id, J(R"({"n":0})"));
        // Those b stored before it knew the integration have no job, and no row.
        bool acted = r.status == 201 && arr(r.json(), "actions").size() == 1;
        if (acted) ids.insert(str(r.json(), "id"));
        return acted;
      },
      10s));
  for (int i = 1; i <= 20; ++i) {
    HttpResponse r = submit(i % 2 ? a : b, form_id, J(R"({"n":)" + std::to_string(i) + "}"));
    ASSERT_EQ(r.status, 201) << r.summary();
    ids.insert(str(r.json(), "id"));
  }
  std::vector<std::string> in_tab;
  ASSERT_TRUE(eventually(
      [&] {
        in_tab.clear();
        auto cells = google.cells("Responses");
        for (std::size_t i = 1; i < cells.size(); ++i) in_tab.push_back(std::string(cells[i][0].as_string()));
        return in_tab.size() >= ids.size();
      },
      60s));
  EXPECT_EQ(in_tab.size(), ids.size()) << "a row was written twice";
  EXPECT_EQ(std::set<std::string>(in_tab.begin(), in_tab.end()), ids);
  // Turns are 250 ms apart whichever node takes them, so five requests span a
  // second. A request reaches Google some time after its turn (a token fetch,
  // a new connection), so allow 250 ms of that; two nodes pacing apart would
  // send five in 500 ms. Over the whole run the late ones average out.
  std::vector<std::chrono::steady_clock::time_point> at;
  for (const auto& call : google.calls()) {
    if (call.kind != "token") at.push_back(call.at);
  }
  ASSERT_GE(at.size(), 20u);
  for (std::size_t i = 0; i + 4 < at.size(); ++i) {
    EXPECT_GE(at[i + 4] - at[i], 750ms) << "requests " << i << " to " << i + 4 << " came too close together";
  }
  EXPECT_GE(at.back() - at.front(), static_cast<int>(at.size() - 2) * 250ms) << at.size() << " requests came too fast";
  // A delivery's error is stored with its attempt: both nodes report it,
  // whichever delivered.
  EXPECT_TRUE(fx::at(a.get(integration_path, a.admin()).json(), "last_error").is_null());
  google.set_shared(false);
  ASSERT_EQ(submit(a, form_id, J(R"({"n":99})")).status, 201);
  for (DaisyProcess* node : {&a, &b}) {
    EXPECT_TRUE(eventually(
        [&] {
          json::value shown = node->get(integration_path, node->admin()).json();
          return str(shown, "last_error").find("share it with " + google.client_email()) != std::string::npos;
        },
        30s));
  }
  EXPECT_TRUE(google.errors().empty()) << google.errors().front();
}

// A node killed while it holds jobs (their deliveries hanging): the other
// node takes them up once their leases expire, and every one is delivered.
TEST_F(ClusterTest, AnotherNodeFinishesTheJobsOfANodeKilledHoldingThem) {
  FakeProvider receiver;
  std::atomic<bool> hang{true};
  receiver.set_handler("/hook", [&hang](const FakeProvider::Request&) {
    if (hang) return Reply{.status = 200, .body = "", .content_type = "text/plain", .hang = true};
    return Reply{.status = 200, .body = "ok", .content_type = "text/plain"};
  });
  DaisyProcess& a = node();
  App app = make_app(a, "shop");
  webhook_on_app(a, app.id, receiver.url("/hook"));
  std::vector<std::string> jobs;
  for (int i = 0; i < 20; ++i) {
    auto ids = send_event(a, app);
    ASSERT_EQ(ids.size(), 1u);
    jobs.push_back(ids[0]);
  }
  // a holds every job now: their deliveries hang.
  ASSERT_TRUE(eventually([&] { return receiver.count("/hook") >= 20; }, 20s)) << receiver.count("/hook");
  DaisyProcess& b = node();
  a.kill9();
  hang = false;
  receiver.release_hangs();
  for (const auto& id : jobs) {
    EXPECT_TRUE(eventually([&] { return job_status(b, id) == "succeeded"; }, 30s)) << id << " " << job_status(b, id);
  }
  std::map<std::string, int> seen;
  for (const auto& r : receiver.requests("/hook")) ++seen[r.header("webhook-id")];
  for (const auto& id : jobs) EXPECT_GE(seen[id], 2) << "job " << id << " was not delivered again by the other node";
}

// A receiver that records when each request came and how many it was
// answering at once; each answer takes `answer_time`.
struct PacedReceiver {
  explicit PacedReceiver(std::chrono::milliseconds answer_time) {
    server.set_handler("/hook", [this, answer_time](const FakeProvider::Request& request) {
      int now_answering = ++answering;
      {
        std::lock_guard lock(mu);
        most_at_once = std::max(most_at_once, now_answering);
        arrivals.push_back(std::chrono::steady_clock::now());
        ids.insert(request.header("webhook-id"));
      }
      std::this_thread::sleep_for(answer_time);
      --answering;
      return Reply{.status = 200, .body = "ok", .content_type = "text/plain"};
    });
  }
  // The most requests that came within any one second.
  std::size_t most_in_a_second() {
    std::lock_guard lock(mu);
    std::size_t most = 0;
    for (std::size_t first = 0, last = 0; last < arrivals.size(); ++last) {
      while (arrivals[last] - arrivals[first] >= 1s) ++first;
      most = std::max(most, last - first + 1);
    }
    return most;
  }
  std::atomic<int> answering{0};
  std::mutex mu;
  int most_at_once = 0;
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  std::set<std::string> ids;
  FakeProvider server;  // last: destroyed first, so no request is served into the members above
};

// A receiver whose answer depends on how many requests came before; it
// records when each came.
struct ScriptedReceiver {
  explicit ScriptedReceiver(std::function<Reply(int call)> answer) {
    server.set_handler("/hook", [this, answer](const FakeProvider::Request&) {
      int call;
      {
        std::lock_guard lock(mu);
        arrivals.push_back(std::chrono::steady_clock::now());
        call = calls++;
      }
      return answer(call);
    });
  }
  std::vector<std::chrono::steady_clock::time_point> arrived() {
    std::lock_guard lock(mu);
    return arrivals;
  }
  std::mutex mu;
  int calls = 0;
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  FakeProvider server;  // last: destroyed first
};

// An integration's max_in_flight and max_per_second hold for both nodes
// together: with jobs made on both, the receiver never answers more than
// max_in_flight at once nor gets more than max_per_second in a second (one
// turn of slack: a request may arrive a little after its turn, the next one
// on time).
TEST_F(ClusterTest, AnIntegrationsLimitsHoldForAllNodesTogether) {
  PacedReceiver receiver(150ms);
  DaisyProcess& a = node();
  DaisyProcess& b = node();
  App app = make_app(a, "shop");
  ASSERT_TRUE(eventually([&] { return b.get("/v1/events?limit=1", bearer(app.token)).status != 401; }, 10s));
  json::object body{
      {"name", "paced"},
      {"source", json::object{{"app_id", app.id}}},
      {"type", "webhook"},
      {"config", json::object{{"url", receiver.server.url("/hook")}, {"max_in_flight", 2}, {"max_per_second", 8}}}};
  ASSERT_EQ(a.request("POST", "/v1/integrations", admin_json(), dump(body)).status, 201);
  std::vector<std::string> made = events_through_both(a, b, app, 40);
  std::set<std::string> jobs(made.begin(), made.end());
  ASSERT_EQ(jobs.size(), 41u);
  ASSERT_TRUE(eventually(
      [&] {
        std::lock_guard lock(receiver.mu);
        return std::includes(receiver.ids.begin(), receiver.ids.end(), jobs.begin(), jobs.end());
      },
      60s));
  int most_at_once = 0;
  {
    std::lock_guard lock(receiver.mu);
    most_at_once = receiver.most_at_once;
  }
  EXPECT_LE(most_at_once, 2) << "the receiver answered this many at once";
  EXPECT_LE(receiver.most_in_a_second(), 9u);
}

// A receiver that answers 429 with Retry-After is left alone by every node
// until then: jobs made meanwhile on either node wait, and are all delivered
// afterwards.
TEST_F(ClusterTest, AReceiversRetryAfterHoldsForAllNodes) {
  ScriptedReceiver receiver([](int call) {
    if (call == 0) {
      return Reply{.status = 429, .body = "slow down", .content_type = "text/plain", .headers = {{"Retry-After", "3"}}};
    }
    return Reply{.status = 200, .body = "ok", .content_type = "text/plain"};
  });
  DaisyProcess& a = node();
  DaisyProcess& b = node();
  App app = make_app(a, "shop");
  ASSERT_TRUE(eventually([&] { return b.get("/v1/events?limit=1", bearer(app.token)).status != 401; }, 10s));
  std::string hook_id = str(webhook_on_app(a, app.id, receiver.server.url("/hook")), "id");
  std::vector<std::string> jobs = send_event(a, app);
  ASSERT_EQ(jobs.size(), 1u);
  // The 429 is recorded (and the back-off with it) once the job is failed.
  ASSERT_TRUE(eventually([&] { return job_status(a, jobs[0]) == "failed"; }, 10s)) << job_status(a, jobs[0]);
  HttpResponse hook = b.get("/v1/integrations/" + hook_id, b.admin());
  ASSERT_EQ(hook.status, 200) << hook.summary();
  json::value shown = hook.json();
  ASSERT_TRUE(shown.as_object().contains("back_off")) << hook.body;
  EXPECT_EQ(shown.at("back_off").at("failures_in_a_row").as_int64(), 1) << hook.body;
  EXPECT_TRUE(shown.at("back_off").at("paused_until").is_string()) << hook.body;
  for (auto& id : events_through_both(a, b, app, 10)) jobs.push_back(id);
  for (const auto& id : jobs) {
    EXPECT_TRUE(eventually([&] { return job_status(a, id) == "succeeded"; }, 30s)) << id << " " << job_status(a, id);
  }
  auto arrivals = receiver.arrived();
  ASSERT_GE(arrivals.size(), jobs.size() + 1);
  // The receiver asked for 3 s; its clock and the nodes' are the machine's.
  for (std::size_t i = 1; i < arrivals.size(); ++i) {
    EXPECT_GE(arrivals[i] - arrivals[0], 2900ms) << "request " << i << " came during the receiver's Retry-After";
  }
}

// A receiver that fails three times in a row (no Retry-After) is paused a
// second for every node: jobs made meanwhile wait for the pause to end.
TEST_F(ClusterTest, AReceiverFailingThreeTimesInARowIsPausedForAllNodes) {
  ScriptedReceiver receiver([](int call) {
    if (call < 3) return Reply{.status = 500, .body = "down", .content_type = "text/plain"};
    return Reply{.status = 200, .body = "ok", .content_type = "text/plain"};
  });
  DaisyProcess& a = node();
  DaisyProcess& b = node();
  App app = make_app(a, "shop");
  ASSERT_TRUE(eventually([&] { return b.get("/v1/events?limit=1", bearer(app.token)).status != 401; }, 10s));
  json::object body{{"name", "hook"},
                    {"source", json::object{{"app_id", app.id}}},
                    {"type", "webhook"},
                    {"config", json::object{{"url", receiver.server.url("/hook")}}},
                    {"retry", json::object{{"schedule_s", J("[0,5,5]")}}}};
  ASSERT_EQ(a.request("POST", "/v1/integrations", admin_json(), dump(body)).status, 201);
  std::vector<std::string> failed;
  for (int i = 0; i < 3; ++i) {
    auto ids = send_event(a, app);
    ASSERT_EQ(ids.size(), 1u);
    failed.push_back(ids[0]);
  }
  for (const auto& id : failed) {
    ASSERT_TRUE(eventually([&] { return job_status(a, id) == "failed"; }, 10s)) << job_status(a, id);
  }
  std::vector<std::string> later = events_through_both(a, b, app, 6);
  for (const auto& id : later) {
    EXPECT_TRUE(eventually([&] { return job_status(a, id) == "succeeded"; }, 20s)) << id << " " << job_status(a, id);
  }
  auto arrivals = receiver.arrived();
  ASSERT_GE(arrivals.size(), 3 + later.size());
  for (std::size_t i = 3; i < arrivals.size(); ++i) {
    EXPECT_GE(arrivals[i] - arrivals[2], 900ms) << "request " << i << " came during the receiver's back-off";
  }
}

// PostgreSQL crashes and comes back during a load on both nodes: requests
// meanwhile answer 503 with Retry-After (and /readyz 503), the nodes reconnect
// by themselves, and every acknowledged submission is found afterwards.
TEST_F(ClusterTest, EveryAcknowledgedWriteSurvivesAPostgresRestart) {
  DaisyProcess& a = node();
  DaisyProcess& b = node();
  std::string form_id = create_form_id(a, J(R"({"title":"t","questions":[{"key":"n","type":"integer"}]})"));
  ASSERT_FALSE(form_id.empty());
  ASSERT_TRUE(eventually([&] { return b.get("/v1/forms/" + form_id, b.admin()).status == 200; }, 10s));

  std::mutex mu;
  std::vector<std::string> acknowledged;
  std::atomic<int> unavailable{0}, other{0};
  std::atomic<bool> stop{false};
  std::string bad_reply;
  auto load = [&](const DaisyProcess& d, int worker) {
    for (int i = 0; !stop; ++i) {
      HttpResponse r = submit(d, form_id, J(R"({"n":)" + std::to_string(worker * 1000000 + i) + "}"));
      if (r.status == 201) {
        std::lock_guard lock(mu);
        acknowledged.push_back(str(r.json(), "id"));
      } else if (r.status == 503 && r.has_header("Retry-After")) {
        ++unavailable;
        std::this_thread::sleep_for(20ms);
      } else {
        std::lock_guard lock(mu);
        if (bad_reply.empty()) bad_reply = r.summary();
        ++other;
      }
    }
  };
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) workers.emplace_back(load, std::cref(w % 2 ? b : a), w);
  auto count = [&] {
    std::lock_guard lock(mu);
    return acknowledged.size();
  };
  ASSERT_TRUE(eventually([&] { return count() >= 200; }, 30s));
  ASSERT_TRUE(pg_->stop());
  EXPECT_TRUE(eventually([&] { return a.get("/readyz").status == 503; }, 10s));
  EXPECT_TRUE(eventually([&] { return unavailable > 0; }, 10s));
  // What the DaisyPostgresUnreachable alert reads (deploy/prometheus/alerts.yml).
  std::string down = a.get("/metrics").body;
  EXPECT_EQ(metric_value(down, R"(daisy_store_up{backend="postgres"})"), 0.0) << down.substr(0, 200);
  EXPECT_EQ(metric_value(down, R"(daisy_ready{backend="postgres"})"), 0.0);
  ASSERT_TRUE(pg_->restart());
  std::size_t before = count();
  EXPECT_TRUE(eventually([&] { return count() >= before + 200; }, 30s)) << "the nodes did not reconnect";
  EXPECT_TRUE(eventually([&] { return a.get("/readyz").status == 200 && b.get("/readyz").status == 200; }, 10s));
  EXPECT_EQ(metric_value(a.get("/metrics").body, R"(daisy_store_up{backend="postgres"})"), 1.0);
  stop = true;
  for (auto& t : workers) t.join();
  EXPECT_EQ(other.load(), 0) << bad_reply;

  std::set<std::string> stored;
  for (const auto& item : list_all_responses(a, form_id)) stored.insert(str(item, "id"));
  std::size_t missing = 0;
  for (const auto& id : acknowledged) missing += stored.count(id) ? 0 : 1;
  EXPECT_EQ(missing, 0u) << "of " << acknowledged.size() << " acknowledged submissions";
}

// A node that has not yet seen an integration created through another node
// (its poll is a minute away) delivers that integration's jobs all the same:
// it reads the integration from the database before cancelling anything.
TEST_F(ClusterTest, ANodeDeliversForAnIntegrationItHasNotSeenYet) {
  FakeProvider receiver;
  receiver.set_handler("/hook", [](const FakeProvider::Request&) {
    return Reply{.status = 200, .body = "ok", .content_type = "text/plain"};
  });
  DaisyProcess& b = node("60000");  // polls once, at its start
  DaisyProcess& a = node();
  App app = make_app(a, "shop");
  // Due two seconds after each event: a is killed before it takes them.
  json::object body{{"name", "late"},
                    {"source", json::object{{"app_id", app.id}}},
                    {"type", "webhook"},
                    {"config", json::object{{"url", receiver.url("/hook")}}},
                    {"retry", json::object{{"schedule_s", J("[2,1]")}}}};
  ASSERT_EQ(a.request("POST", "/v1/integrations", admin_json(), dump(body)).status, 201);
  std::vector<std::string> jobs;
  for (int i = 0; i < 5; ++i) {
    auto ids = send_event(a, app);
    ASSERT_EQ(ids.size(), 1u);
    jobs.push_back(ids[0]);
  }
  a.kill9();
  for (const auto& id : jobs) {
    EXPECT_TRUE(eventually([&] { return job_status(b, id) == "succeeded"; }, 20s)) << id << " " << job_status(b, id);
  }
  EXPECT_GE(receiver.count("/hook"), jobs.size());
}

// Two live processes cannot share a node id (a data dir copied, with an
// image for instance; one shared is refused by its lock first): the second
// refuses to start and says why.
TEST_F(ClusterTest, ASecondProcessWithTheSameNodeIdRefusesToStart) {
  DaisyProcess& a = node();
  expect_duplicate_refused(a);
  EXPECT_EQ(a.get("/readyz").status, 200);
  // Once a has stopped, its id is free again.
  ASSERT_EQ(a.stop().code, 0);
  EXPECT_TRUE(a.start()) << a.start_error();
}

// A PostgreSQL restart ends the session that held a node's id; the node takes
// it again (within a poll), so a duplicate started after that is refused.
TEST_F(ClusterTest, ANodeTakesItsIdAgainAfterAPostgresRestart) {
  DaisyProcess& a = node();
  ASSERT_TRUE(pg_->stop());
  EXPECT_TRUE(eventually([&] { return a.get("/readyz").status == 503; }, 10s));
  ASSERT_TRUE(pg_->restart());
  ASSERT_TRUE(eventually([&] { return a.get("/readyz").status == 200; }, 20s));
  ASSERT_TRUE(a.wait_for_err("node id claimed again", 10s)) << a.err_tail();
  expect_duplicate_refused(a);
}

// Changes made through one node reach the other's memory within seconds: a
// form's new constraint, an event type's new schema, a deleted app's token.
TEST_F(ClusterTest, ChangesThroughOneNodeReachTheOtherWithinSeconds) {
  DaisyProcess& a = node();
  DaisyProcess& b = node();
  App app = make_app(a, "shop");
  std::string form_id = create_form_id(a, J(R"({"title":"t","questions":[{"key":"n","type":"integer"}]})"));
  // b compiles and keeps the form.
  ASSERT_TRUE(eventually([&] { return submit(b, form_id, J(R"({"n":50})")).status == 201; }, 10s));
  ASSERT_EQ(patch_form(a, form_id, J(R"({"questions":[{"key":"n","type":"integer","max":5}]})")).status, 200);
  EXPECT_TRUE(eventually([&] { return submit(b, form_id, J(R"({"n":50})")).status == 422; }, 10s))
      << "b kept the form as it was";

  const std::string type = "/v1/event-types/ui/click";
  ASSERT_EQ(a.request("PUT", type, admin_json(), R"({"schema":{"type":"object","required":["x"]}})").status, 201);
  auto accepted = [&](const DaisyProcess& d) {
    HttpResponse r = d.request("POST", "/v1/events", token_json(app.token),
                               R"({"session_id":"0193a1b2-c3d4-7000-8000-123456789abc","category":"ui",)"
                               R"("name":"click","data":{"y":1},"timestamp":"2026-01-01T10:00:00Z"})");
    return r.status == 202;
  };
  EXPECT_TRUE(eventually([&] { return !accepted(b); }, 10s)) << "b kept the event type's old schema";

  ASSERT_EQ(a.request("DELETE", "/v1/apps/" + app.id, a.admin()).status, 204);
  EXPECT_TRUE(eventually([&] { return b.get("/v1/events?limit=1", bearer(app.token)).status == 401; }, 10s))
      << "b still accepts a deleted app's token";
}

// Idempotency across nodes: the same submission sent to both nodes at once,
// many times over, stores one response per key.
TEST_F(ClusterTest, DuplicatesSentToTwoNodesAtOnceStoreOneResponse) {
  DaisyProcess& a = node();
  DaisyProcess& b = node();
  std::string form_id = create_form_id(a, J(R"({"title":"t","questions":[{"key":"n","type":"integer"}]})"));
  ASSERT_TRUE(eventually([&] { return b.get("/v1/forms/" + form_id, b.admin()).status == 200; }, 10s));
  for (int k = 0; k < 20; ++k) {
    std::string key = "key-" + std::to_string(k);
    std::string ids[2];
    int status[2] = {0, 0};
    bool replayed[2] = {false, false};
    auto send = [&](const DaisyProcess& d, int i) {
      HttpResponse r = submit(d, form_id, J(R"({"n":1})"), {{"Idempotency-Key", key}});
      status[i] = r.status;
      replayed[i] = r.header("Idempotent-Replayed") == "true";
      if (r.status == 201) ids[i] = str(r.json(), "id");
    };
    std::thread to_b([&] { send(b, 1); });
    send(a, 0);
    to_b.join();
    // A replay answers as the original did (201, the one response), marked as a replay.
    EXPECT_EQ(status[0], 201) << key;
    EXPECT_EQ(status[1], 201) << key;
    EXPECT_NE(replayed[0], replayed[1]) << key << ": exactly one of the two is a replay";
    EXPECT_FALSE(ids[0].empty());
    EXPECT_EQ(ids[0], ids[1]) << key;
  }
  EXPECT_EQ(list_all_responses(b, form_id).size(), 20u);
}

// Events carrying client ids sent to both nodes at once (a retry that went
// to another node): each id is stored once, and both nodes acknowledge it.
TEST_F(ClusterTest, EventIdsSentToTwoNodesAtOnceAreStoredOnce) {
  DaisyProcess& a = node();
  DaisyProcess& b = node();
  App app = make_app(a, "web");
  ASSERT_TRUE(eventually([&] { return b.get("/v1/events?limit=1", bearer(app.token)).status == 200; }, 10s));
  constexpr int rounds = 20, per_batch = 50;
  for (int k = 0; k < rounds; ++k) {
    json::array events;
    for (int i = 0; i < per_batch; ++i) {
      std::string n = std::to_string(1'000'000 * (k + 1) + i);  // 7 to 8 digits
      std::string id = "0193a1b2-c3d4-7000-8000-" + std::string(12 - n.size(), '0') + n;
      events.push_back(json::object{{"id", id},
                                    {"session_id", "0193a1b2-c3d4-7000-8000-123456789abc"},
                                    {"category", "ui"},
                                    {"name", "dup"},
                                    {"timestamp", "2026-01-01T10:00:00Z"},
                                    {"data", json::object{}}});
    }
    std::string body = dump(json::object{{"events", events}});
    int status[2] = {0, 0};
    auto send = [&](const DaisyProcess& d, int i) {
      status[i] = d.request("POST", "/v1/events", token_json(app.token), body).status;
    };
    std::thread to_b([&] { send(b, 1); });
    send(a, 0);
    to_b.join();
    EXPECT_EQ(status[0], 202) << k;
    EXPECT_EQ(status[1], 202) << k;
  }
  std::set<std::string> ids;
  std::size_t rows = 0;
  std::string after;
  for (int page = 0; page < 100; ++page) {
    HttpResponse r = b.get("/v1/events?name=dup&limit=500" + after, bearer(app.token));
    ASSERT_EQ(r.status, 200) << r.summary();
    json::value v = r.json();
    for (const auto& e : arr(v, "items")) {
      ++rows;
      ids.insert(str(e, "id"));
    }
    if (at(v, "next_cursor").is_null()) break;
    after = "&after=" + str(v, "next_cursor");
  }
  EXPECT_EQ(rows, static_cast<std::size_t>(rounds * per_batch)) << "an id stored twice";
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(rounds * per_batch));
}

// A scheduled pull is made by one node: with a provider pulled hourly, both
// nodes find it due at once, and only the one holding its lease pulls.
TEST_F(ClusterTest, OneNodePullsAProviderOnSchedule) {
  FakeProvider feed;
  feed.set("/items", Reply{.status = 200, .body = R"([{"id":"i1","v":1}])", .content_type = "application/json"});
  DaisyProcess& a = node();
  DaisyProcess& b = node();
  HttpResponse created =
      a.request("POST", "/v1/providers", admin_json(),
                R"({"name":"items","url":")" + feed.url("/items") + R"(","format":"json","interval_s":3600})");
  ASSERT_EQ(created.status, 201) << created.summary();
  // b knows the provider, and its item, once a has pulled it.
  ASSERT_TRUE(eventually(
      [&] {
        HttpResponse items = b.get("/v1/items?provider=items", b.admin());
        return items.status == 200 && items.body.find("\"i1\"") != std::string::npos;
      },
      10s));
  std::this_thread::sleep_for(2s);  // b's schedule found it due too, and skipped it
  EXPECT_EQ(feed.count("/items"), 1u) << "both nodes pulled the provider";
}

}  // namespace
}  // namespace daisy_e2e
