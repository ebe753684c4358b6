// Integrations and jobs end to end: /v1/integrations (CRUD, validation,
// access, secret rotation), jobs written with the responses and events that
// trigger them, webhook deliveries to a local receiver (FakeProvider) that
// can fail, answer 429 with Retry-After or 410, or hang: signatures that
// verify with the secret, retries until success, dead after the last
// attempt, manual retry and cancel, private targets refused by default, and
// kill -9 while deliveries are in flight.
//
// Every test runs its own server with --allow-private-targets (the receiver
// is on 127.0.0.1), except the one that checks the refusal.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "fake_provider.h"
#include "harness.h"
#include "redis_server.h"
#include "suite_support.h"

namespace daisy_e2e {
namespace {

using namespace fx;
using daisy::e2e::FakeProvider;
using Reply = FakeProvider::Reply;

DaisyProcess::Options allowing_private_targets() {
  DaisyProcess::Options o;
  o.args = {"--allow-private-targets"};
  return o;
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string base64_decode(std::string_view text) {
  std::string out(3 * (text.size() / 4), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return {};
  std::size_t padding = text.size() >= 2 && text.substr(text.size() - 2) == "==" ? 2
                        : !text.empty() && text.back() == '='                    ? 1
                                                                                 : 0;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

// The Standard Webhooks signature, computed here independently of Daisy.
std::string expected_signature(std::string_view secret, std::string_view id, std::string_view timestamp,
                               std::string_view body) {
  std::string key = base64_decode(secret.substr(std::string_view("whsec_").size()));
  std::string content = std::string(id) + "." + std::string(timestamp) + "." + std::string(body);
  unsigned char mac[32];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(content.data()),
       content.size(), mac, &length);
  return "v1," + base64_encode(std::string_view(reinterpret_cast<const char*>(mac), length));
}

class IntegrationsTest : public ::testing::Test {
 protected:
  void SetUp() override { start(allowing_private_targets()); }

  void start(DaisyProcess::Options options) {
    server_ = std::make_unique<DaisyProcess>(std::move(options));
    ASSERT_TRUE(server_->start()) << server_->start_error();
  }

  void TearDown() override {
    if (!server_ || server_->port() == 0) return;
    EXPECT_TRUE(server_->running()) << "the server died during this test:\n" << server_->err_tail();
    std::string report = server_->sanitizer_report();
    EXPECT_TRUE(report.empty()) << report.substr(0, 3000);
    if (HasFailure()) std::fprintf(stderr, "--- server stderr (tail) ---\n%s\n", server_->err_tail().c_str());
  }

  DaisyProcess& server() { return *server_; }

  // Creates an integration; returns its reply's JSON (with "secret").
  json::value create_integration(const json::value& body) {
    HttpResponse r = server().request("POST", "/v1/integrations", admin_json(), dump(body));
    EXPECT_EQ(r.status, 201) << r.summary();
    return r.json();
  }

  json::value webhook_on_app(const std::string& app_id, const std::string& url, const std::string& schedule = "") {
    json::object body{{"name", "hook"},
                      {"source", json::object{{"app_id", app_id}}},
                      {"type", "webhook"},
                      {"config", json::object{{"url", url}, {"timeout_ms", 2000}}}};
    if (!schedule.empty()) body["retry"] = json::object{{"schedule_s", J(schedule)}};
    return create_integration(body);
  }

  // Posts one event as the app; returns the 202 reply's JSON.
  json::value send_event(const App& app, std::string_view name = "click") {
    std::string event = R"({"session_id":"0193a1b2-c3d4-7000-8000-123456789abc","category":"ui","name":")" +
                        std::string(name) + R"(","data":{"n":1},"timestamp":"2026-01-01T10:00:00Z"})";
    HttpResponse r = server().request("POST", "/v1/events", token_json(app.token), event);
    EXPECT_EQ(r.status, 202) << r.summary();
    return r.json();
  }

  json::value job(const std::string& id) {
    HttpResponse r = server().get("/v1/jobs/" + id, server().admin());
    EXPECT_EQ(r.status, 200) << r.summary();
    return r.json();
  }

  // Waits until the job has this status; its JSON then (or as last seen).
  json::value wait_status(const std::string& id, std::string_view status, std::chrono::milliseconds timeout = 20s) {
    json::value last;
    eventually([&] { return str(last = job(id), "status") == status; }, timeout);
    EXPECT_EQ(str(last, "status"), status) << dump(last);
    return last;
  }

  // The receiver holds every request at `path` unanswered while `hang` is
  // true, then answers 200.
  static void hang_while(FakeProvider& receiver, const std::string& path, std::atomic<bool>& hang) {
    receiver.set_handler(path, [&hang](const FakeProvider::Request&) {
      if (hang) return Reply{.status = 200, .body = "", .content_type = "text/plain", .hang = true};
      return Reply{.status = 200, .body = "ok", .content_type = "text/plain"};
    });
  }

  // A batch of `n` valid events, {"i": 0} to {"i": n-1}, without the closing "]}".
  static std::string event_batch(int n) {
    std::string batch = R"({"events":[)";
    for (int i = 0; i < n; ++i) {
      if (i) batch += ",";
      batch += R"({"session_id":"0193a1b2-c3d4-7000-8000-123456789abc","category":"ui","name":"b","data":{"i":)" +
               std::to_string(i) + R"(},"timestamp":"2026-01-01T10:00:00Z"})";
    }
    return batch;
  }

  static std::string only_job_id(const json::value& reply) {
    const auto& actions = arr(reply, "actions");
    EXPECT_EQ(actions.size(), 1u) << dump(reply);
    return actions.empty() ? std::string() : str(actions[0], "job_id");
  }

  std::unique_ptr<DaisyProcess> server_;
};

// ---------------------------------------------------------------- definitions

TEST_F(IntegrationsTest, CrudValidationAndAccess) {
  App app = make_app(server(), "shop");
  json::value created = webhook_on_app(app.id, "http://127.0.0.1:9/hook");
  std::string id = str(created, "id");
  EXPECT_TRUE(is_uuid_v7(id));
  EXPECT_EQ(str(created, "secret").rfind("whsec_", 0), 0u) << dump(created);
  EXPECT_EQ(base64_decode(str(created, "secret").substr(6)).size(), 24u);
  EXPECT_EQ(dump(at(created, "on")), R"(["event.created"])");
  EXPECT_EQ(str(created, "mode"), "async");
  EXPECT_EQ(dump(at(at(created, "retry"), "schedule_s")), "[0,5,30,120,600,1800,3600,10800,21600,43200]");

  // The secret is shown once: never by a read.
  HttpResponse got = server().get("/v1/integrations/" + id, server().admin());
  ASSERT_EQ(got.status, 200) << got.summary();
  EXPECT_FALSE(got.json().as_object().contains("secret"));
  EXPECT_EQ(str(got.json(), "name"), "hook");
  HttpResponse list = server().get("/v1/integrations", server().admin());
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(arr(list.json(), "items").size(), 1u);
  EXPECT_EQ(got.body.find("whsec_"), std::string::npos);

  HttpResponse patched = server().request("PATCH", "/v1/integrations/" + id, admin_json(),
                                          R"({"name":"renamed","enabled":false,"retry":{"schedule_s":[0,1]}})");
  ASSERT_EQ(patched.status, 200) << patched.summary();
  EXPECT_EQ(str(patched.json(), "name"), "renamed");
  EXPECT_FALSE(at(patched.json(), "enabled").as_bool());
  EXPECT_EQ(str(at(patched.json(), "config"), "url"), "http://127.0.0.1:9/hook");  // kept

  // Each bad field is named.
  HttpResponse bad =
      server().request("POST", "/v1/integrations", admin_json(),
                       R"({"name":"x","source":{"app_id":")" + app.id +
                           R"("},"type":"webhook","config":{"url":"ftp://example.org","timeout_ms":5,"colour":"red"},)"
                           R"("on":["response.created"],"retry":{"schedule_s":[0,-1]}})");
  EXPECT_TRUE(
      IsValidationError(bad, {"config.url", "config.timeout_ms", "config.colour", "on[0]", "retry.schedule_s[1]"}));
  HttpResponse no_source = server().request(
      "POST", "/v1/integrations", admin_json(),
      R"({"name":"x","source":{"form_id":"0193a1b2-c3d4-7000-8000-123456789abc"},"type":"webhook","config":{"url":"http://example.org"}})");
  EXPECT_TRUE(IsValidationError(no_source, {"source.form_id"}));
  HttpResponse no_type = server().request("POST", "/v1/integrations", admin_json(),
                                          R"({"name":"x","source":{"app_id":")" + app.id + R"("},"config":{}})");
  EXPECT_TRUE(HasFieldError(no_type, "type"));
  HttpResponse reserved = server().request(
      "POST", "/v1/integrations", admin_json(),
      R"({"name":"x","source":{"app_id":")" + app.id +
          R"("},"type":"webhook","config":{"url":"http://example.org","headers":{"webhook-id":"forged"}}})");
  EXPECT_TRUE(IsValidationError(reserved, {"config.headers.webhook-id"}));
  HttpResponse change_type = server().request("PATCH", "/v1/integrations/" + id, admin_json(), R"({"type":"redis"})");
  EXPECT_TRUE(IsValidationError(change_type, {"type"}));

  // Admin only: an app token is refused, none is unauthenticated.
  EXPECT_EQ(server().get("/v1/integrations", bearer(app.token)).status, 403);
  EXPECT_EQ(server().get("/v1/integrations").status, 401);
  EXPECT_EQ(server().get("/v1/jobs", bearer(app.token)).status, 403);

  EXPECT_EQ(server().request("DELETE", "/v1/integrations/" + id, server().admin()).status, 204);
  EXPECT_EQ(server().get("/v1/integrations/" + id, server().admin()).status, 404);
  EXPECT_EQ(server().request("DELETE", "/v1/integrations/" + id, server().admin()).status, 404);
}

TEST_F(IntegrationsTest, DefinitionsSurviveARestart) {
  App app = make_app(server(), "shop");
  json::value created = webhook_on_app(app.id, "http://127.0.0.1:9/hook", "[0,2]");
  ASSERT_EQ(server().stop().code, 0);
  ASSERT_TRUE(server().start()) << server().start_error();
  HttpResponse got = server().get("/v1/integrations/" + str(created, "id"), server().admin());
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(dump(at(at(got.json(), "retry"), "schedule_s")), "[0,2]");
  // And they still trigger jobs.
  EXPECT_EQ(arr(send_event(app), "actions").size(), 1u);
}

// ---------------------------------------------------------------- deliveries

// A delivery that takes longer than the job's lease keeps its lease (the
// runner moves it on while the delivery runs): the job is not claimed again
// and delivered a second time meanwhile.
TEST_F(IntegrationsTest, ADeliveryThatOutlastsItsLeaseIsNotMadeTwice) {
  DaisyProcess::Options options = allowing_private_targets();
  options.args.insert(options.args.end(), {"--job-lease-ms", "1000"});
  start(options);  // in place of SetUp's server
  FakeProvider receiver;
  receiver.set("/slow", Reply{.status = 200, .body = "ok", .content_type = "text/plain", .delay = 3500ms});
  App app = make_app(server(), "slow");
  json::object body{{"name", "slow"},
                    {"source", json::object{{"app_id", app.id}}},
                    {"type", "webhook"},
                    {"config", json::object{{"url", receiver.url("/slow")}, {"timeout_ms", 10000}}}};
  create_integration(body);
  std::string job_id = only_job_id(send_event(app));
  json::value done = wait_status(job_id, "succeeded");
  EXPECT_EQ(num(done, "attempts"), 1) << dump(done);
  EXPECT_EQ(receiver.requests("/slow").size(), 1u) << "the job was delivered again while its first delivery ran";
}

TEST_F(IntegrationsTest, WebhookSignaturesVerifyWithTheSecret) {
  FakeProvider receiver;
  receiver.set("/hook", Reply{.status = 204, .body = "", .content_type = "text/plain"});
  App app = make_app(server(), "shop");
  json::value integration = webhook_on_app(app.id, receiver.url("/hook"));
  std::string secret = str(integration, "secret");

  json::value accepted = send_event(app, "signed");
  std::string job_id = only_job_id(accepted);
  EXPECT_EQ(str(arr(accepted, "actions")[0], "integration_id"), str(integration, "id"));
  EXPECT_EQ(str(arr(accepted, "actions")[0], "status"), "pending");

  json::value done = wait_status(job_id, "succeeded");
  EXPECT_EQ(num(done, "attempts"), 1);
  ASSERT_EQ(arr(done, "attempts_log").size(), 1u);
  EXPECT_EQ(num(arr(done, "attempts_log")[0], "http_status"), 204);
  EXPECT_EQ(str(arr(done, "attempts_log")[0], "outcome"), "succeeded");

  auto requests = receiver.requests("/hook");
  ASSERT_EQ(requests.size(), 1u);
  const auto& hook = requests[0];
  EXPECT_EQ(hook.method, "POST");
  EXPECT_EQ(hook.header("webhook-id"), job_id);
  EXPECT_EQ(hook.header("content-type"), "application/json");
  std::string timestamp = hook.header("webhook-timestamp");
  ASSERT_FALSE(timestamp.empty());
  std::int64_t sent_at = std::stoll(timestamp);
  std::int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(std::llabs(now - sent_at), 60);
  EXPECT_EQ(hook.header("webhook-signature"), expected_signature(secret, job_id, timestamp, hook.body));
  // A signature from another secret does not match.
  EXPECT_NE(hook.header("webhook-signature"),
            expected_signature("whsec_" + base64_encode(std::string(24, 'x')), job_id, timestamp, hook.body));

  json::value body = J(hook.body);
  EXPECT_EQ(str(body, "id"), job_id);
  EXPECT_EQ(str(body, "type"), "event.created");
  EXPECT_FALSE(str(body, "timestamp").empty());
  EXPECT_EQ(str(at(body, "data"), "id"), str(accepted, "id"));
  EXPECT_EQ(str(at(body, "data"), "name"), "signed");
  EXPECT_EQ(dump(at(at(body, "data"), "data")), R"({"n":1})");
  EXPECT_EQ(dump(at(done, "data")), dump(at(body, "data")));
}

TEST_F(IntegrationsTest, RotatedSecretsSignBesideTheOldOneFor24Hours) {
  FakeProvider receiver;
  receiver.set("/hook", Reply{.status = 200, .body = "ok", .content_type = "text/plain"});
  App app = make_app(server(), "shop");
  json::value integration = webhook_on_app(app.id, receiver.url("/hook"));
  std::string old_secret = str(integration, "secret");
  HttpResponse rotated =
      server().request("POST", "/v1/integrations/" + str(integration, "id") + "/secret", server().admin());
  ASSERT_EQ(rotated.status, 200) << rotated.summary();
  std::string new_secret = str(rotated.json(), "secret");
  ASSERT_NE(new_secret, old_secret);
  EXPECT_FALSE(str(rotated.json(), "previous_secret_expires_at").empty());

  std::string job_id = only_job_id(send_event(app));
  wait_status(job_id, "succeeded");
  auto hook = receiver.requests("/hook").at(0);
  std::string ts = hook.header("webhook-timestamp");
  EXPECT_EQ(hook.header("webhook-signature"), expected_signature(new_secret, job_id, ts, hook.body) + " " +
                                                  expected_signature(old_secret, job_id, ts, hook.body));
}

TEST_F(IntegrationsTest, FailedDeliveriesAreRetriedUntilTheySucceed) {
  FakeProvider receiver;
  std::atomic<int> calls{0};
  receiver.set_handler("/flaky", [&](const FakeProvider::Request&) {
    int n = ++calls;
    if (n == 1) return Reply{.status = 500, .body = "boom", .content_type = "text/plain"};
    if (n == 2) return Reply{.status = 502, .body = "bad gateway", .content_type = "text/plain"};
    return Reply{.status = 200, .body = "ok", .content_type = "text/plain"};
  });
  App app = make_app(server(), "shop");
  webhook_on_app(app.id, receiver.url("/flaky"), "[0,1,1,1]");
  std::string job_id = only_job_id(send_event(app));

  json::value done = wait_status(job_id, "succeeded");
  EXPECT_EQ(num(done, "attempts"), 3);
  const auto& log = arr(done, "attempts_log");
  ASSERT_EQ(log.size(), 3u) << dump(done);
  EXPECT_EQ(str(log[0], "outcome"), "failed");
  EXPECT_EQ(num(log[0], "http_status"), 500);
  EXPECT_NE(str(log[0], "error").find("boom"), std::string::npos) << dump(log[0]);
  EXPECT_EQ(num(log[1], "http_status"), 502);
  EXPECT_EQ(str(log[2], "outcome"), "succeeded");
  // Every attempt carries the same webhook-id (the receiver's deduplication key).
  auto requests = receiver.requests("/flaky");
  ASSERT_EQ(requests.size(), 3u);
  for (const auto& r : requests) EXPECT_EQ(r.header("webhook-id"), job_id);
  EXPECT_EQ(requests[0].body, requests[2].body);
}

TEST_F(IntegrationsTest, DeadAfterTheLastAttemptThenManualRetryAndCancel) {
  FakeProvider receiver;
  receiver.set("/down", Reply{.status = 503, .body = "down", .content_type = "text/plain"});
  App app = make_app(server(), "shop");
  json::value integration = webhook_on_app(app.id, receiver.url("/down"), "[0,1]");
  auto dead_total = [&] { return metric_value(server().get("/metrics").body, "daisy_jobs_dead_total").value_or(-1); };
  double dead_before = dead_total();
  ASSERT_GE(dead_before, 0.0);
  std::string job_id = only_job_id(send_event(app));

  json::value dead = wait_status(job_id, "dead");
  // Counted just after the job is recorded dead: what the DaisyDeadJobs alert reads.
  EXPECT_TRUE(eventually([&] { return dead_total() == dead_before + 1; })) << dead_total();
  EXPECT_EQ(num(dead, "attempts"), 2);
  EXPECT_EQ(arr(dead, "attempts_log").size(), 2u);
  EXPECT_NE(str(dead, "last_error").find("503"), std::string::npos);
  EXPECT_EQ(receiver.count("/down"), 2u);

  // A dead job cannot be cancelled; retried by hand, it gets one more attempt.
  EXPECT_TRUE(IsProblem(server().request("POST", "/v1/jobs/" + job_id + "/cancel", server().admin()), 409, "conflict"));
  receiver.set("/down", Reply{.status = 200, .body = "ok", .content_type = "text/plain"});
  HttpResponse retried = server().request("POST", "/v1/jobs/" + job_id + "/retry", server().admin());
  ASSERT_EQ(retried.status, 200) << retried.summary();
  EXPECT_EQ(str(retried.json(), "status"), "pending");
  json::value done = wait_status(job_id, "succeeded");
  EXPECT_EQ(num(done, "attempts"), 3);
  EXPECT_TRUE(IsProblem(server().request("POST", "/v1/jobs/" + job_id + "/retry", server().admin()), 409, "conflict"));

  // A job waiting for its next attempt is cancelled, and then never attempted.
  receiver.set("/down", Reply{.status = 500, .body = "down", .content_type = "text/plain"});
  HttpResponse slow = server().request("PATCH", "/v1/integrations/" + str(integration, "id"), admin_json(),
                                       R"({"retry":{"schedule_s":[0,3600]}})");
  ASSERT_EQ(slow.status, 200) << slow.summary();
  std::string waiting = only_job_id(send_event(app));
  json::value failed = wait_status(waiting, "failed");
  EXPECT_FALSE(str(failed, "next_attempt_at").empty());
  HttpResponse cancelled = server().request("POST", "/v1/jobs/" + waiting + "/cancel", server().admin());
  ASSERT_EQ(cancelled.status, 200) << cancelled.summary();
  EXPECT_EQ(str(cancelled.json(), "status"), "cancelled");
  EXPECT_EQ(str(job(waiting), "status"), "cancelled");

  // Listing by status and integration.
  HttpResponse listed =
      server().get("/v1/jobs?status=cancelled&integration_id=" + str(integration, "id"), server().admin());
  ASSERT_EQ(listed.status, 200);
  ASSERT_EQ(arr(listed.json(), "items").size(), 1u);
  EXPECT_EQ(str(arr(listed.json(), "items")[0], "id"), waiting);
  EXPECT_TRUE(IsValidationError(server().get("/v1/jobs?status=lost", server().admin()), {"status"}));
  EXPECT_EQ(server().get("/v1/jobs/0193a1b2-c3d4-7000-8000-123456789abc", server().admin()).status, 404);
}

TEST_F(IntegrationsTest, RetryAfterIsHonoured) {
  FakeProvider receiver;
  std::atomic<int> calls{0};
  receiver.set_handler("/busy", [&](const FakeProvider::Request&) {
    if (++calls == 1) {
      return Reply{.status = 429, .body = "slow down", .content_type = "text/plain", .headers = {{"Retry-After", "3"}}};
    }
    return Reply{.status = 200, .body = "ok", .content_type = "text/plain"};
  });
  App app = make_app(server(), "shop");
  webhook_on_app(app.id, receiver.url("/busy"), "[0,0,0]");
  std::string job_id = only_job_id(send_event(app));
  json::value waiting = wait_status(job_id, "failed");
  // Due no sooner than the receiver asked, although the schedule said at once.
  std::string started = str(arr(waiting, "attempts_log")[0], "started_at");
  std::string next = str(waiting, "next_attempt_at");
  auto seconds = [](const std::string& iso) {  // seconds of the day, from "...THH:MM:SS.mmmZ"
    return std::stoi(iso.substr(11, 2)) * 3600 + std::stoi(iso.substr(14, 2)) * 60 + std::stod(iso.substr(17, 6));
  };
  double gap = seconds(next) - seconds(started);
  if (gap < 0) gap += 86400;
  EXPECT_GE(gap, 2.9) << started << " -> " << next;
  json::value done = wait_status(job_id, "succeeded");
  EXPECT_EQ(num(done, "attempts"), 2);
}

TEST_F(IntegrationsTest, GoneDisablesTheIntegration) {
  FakeProvider receiver;
  receiver.set("/gone", Reply{.status = 410, .body = "gone", .content_type = "text/plain"});
  App app = make_app(server(), "shop");
  json::value integration = webhook_on_app(app.id, receiver.url("/gone"));
  std::string job_id = only_job_id(send_event(app));
  json::value dead = wait_status(job_id, "dead");
  EXPECT_EQ(num(dead, "attempts"), 1);
  std::string id = str(integration, "id");
  ASSERT_TRUE(eventually([&] {
    HttpResponse r = server().get("/v1/integrations/" + id, server().admin());
    return r.status == 200 && !at(r.json(), "enabled").as_bool();
  }));
  HttpResponse got = server().get("/v1/integrations/" + id, server().admin());
  EXPECT_NE(str(got.json(), "disabled_reason").find("410"), std::string::npos) << got.body;
  // New events no longer trigger it, before and after a restart.
  EXPECT_TRUE(arr(send_event(app), "actions").empty());
  ASSERT_EQ(server().stop().code, 0);
  ASSERT_TRUE(server().start()) << server().start_error();
  EXPECT_TRUE(arr(send_event(app), "actions").empty());
  // Enabled again by hand, it triggers again and its reason is cleared.
  HttpResponse enabled = server().request("PATCH", "/v1/integrations/" + id, admin_json(), R"({"enabled":true})");
  ASSERT_EQ(enabled.status, 200);
  EXPECT_TRUE(at(enabled.json(), "disabled_reason").is_null());
  EXPECT_EQ(arr(send_event(app), "actions").size(), 1u);
}

TEST_F(IntegrationsTest, ResponsesTriggerJobsWithTheirSnapshot) {
  FakeProvider receiver;
  receiver.set("/forms", Reply{.status = 200, .body = "ok", .content_type = "text/plain"});
  std::string form_id = create_form_id(server(), J(R"({"title":"t","questions":[{"key":"n","type":"integer"}]})"));
  json::value integration = create_integration(J(R"({"name":"crm","source":{"form_id":")" + form_id +
                                                 R"("},"on":["response.created","response.updated"],)"
                                                 R"("type":"webhook","config":{"url":")" +
                                                 receiver.url("/forms") + R"("}})"));
  HttpResponse submitted = submit(server(), form_id, J(R"({"n":1})"), {{"Idempotency-Key", "k1"}});
  ASSERT_EQ(submitted.status, 201) << submitted.summary();
  std::string response_id = str(submitted.json(), "id");
  std::string created_job = only_job_id(submitted.json());
  // A replay of the same submission makes no second job.
  HttpResponse replay = submit(server(), form_id, J(R"({"n":1})"), {{"Idempotency-Key", "k1"}});
  ASSERT_EQ(replay.status, 201) << replay.summary();
  EXPECT_EQ(str(replay.json(), "id"), response_id);

  HttpResponse corrected = correct(server(), form_id, response_id, J(R"({"n":2})"));
  ASSERT_EQ(corrected.status, 200) << corrected.summary();
  std::string updated_job = only_job_id(corrected.json());

  json::value first = wait_status(created_job, "succeeded");
  json::value second = wait_status(updated_job, "succeeded");
  EXPECT_EQ(str(first, "type"), "response.created");
  EXPECT_EQ(str(second, "type"), "response.updated");
  EXPECT_EQ(str(first, "source_id"), response_id);
  // Each job keeps what the response was when it was made.
  EXPECT_EQ(num(at(at(first, "data"), "answers"), "n"), 1);
  EXPECT_EQ(num(at(at(second, "data"), "answers"), "n"), 2);
  EXPECT_EQ(num(at(second, "data"), "revision"), 2);
  HttpResponse by_source = server().get("/v1/jobs?source_id=" + response_id, server().admin());
  ASSERT_EQ(by_source.status, 200);
  EXPECT_EQ(arr(by_source.json(), "items").size(), 2u);
  EXPECT_EQ(receiver.count("/forms"), 2u);

  // A trigger the integration does not run on makes no job.
  HttpResponse only_created = server().request("PATCH", "/v1/integrations/" + str(integration, "id"), admin_json(),
                                               R"({"on":["response.created"]})");
  ASSERT_EQ(only_created.status, 200);
  HttpResponse again = correct(server(), form_id, response_id, J(R"({"n":3})"));
  EXPECT_TRUE(arr(again.json(), "actions").empty()) << again.body;

  // Jobs of a response refer to its revisions, which the store keeps: after
  // a third revision, each still shows (and sent) exactly the response as
  // its own revision was, as the submit and correction replies showed it.
  auto without_actions = [](json::value reply) {
    reply.as_object().erase("actions");
    return reply;
  };
  EXPECT_EQ(at(job(created_job), "data"), without_actions(submitted.json()));
  EXPECT_EQ(at(job(updated_job), "data"), without_actions(corrected.json()));
  std::map<std::string, json::value> sent;
  for (const auto& hook : receiver.requests("/forms")) sent[hook.header("webhook-id")] = at(J(hook.body), "data");
  EXPECT_EQ(sent[created_job], without_actions(submitted.json()));
  EXPECT_EQ(sent[updated_job], without_actions(corrected.json()));
}

TEST_F(IntegrationsTest, BatchesMakeAJobPerEvent) {
  FakeProvider receiver;
  receiver.set("/hook", Reply{.status = 200, .body = "ok", .content_type = "text/plain"});
  App app = make_app(server(), "shop");
  webhook_on_app(app.id, receiver.url("/hook"));
  std::string batch = event_batch(5) + R"(,{"session_id":"nope"}]})";
  HttpResponse r = server().request("POST", "/v1/events", token_json(app.token), batch);
  ASSERT_EQ(r.status, 202) << r.summary();
  json::value reply = r.json();
  ASSERT_EQ(arr(reply, "actions").size(), 5u);  // none for the rejected event
  for (const auto& action : arr(reply, "actions")) wait_status(str(action, "job_id"), "succeeded");
  std::set<std::string> seen;
  for (const auto& hook : receiver.requests("/hook")) seen.insert(str(at(J(hook.body), "data"), "id"));
  std::set<std::string> ids;
  for (const auto& id : arr(reply, "ids")) ids.insert(std::string(id.as_string()));
  EXPECT_EQ(seen, ids);
}

TEST_F(IntegrationsTest, PrivateTargetsAreRefusedByDefault) {
  start(DaisyProcess::Options{});
  FakeProvider receiver;
  receiver.set("/hook", Reply{.status = 200, .body = "ok", .content_type = "text/plain"});
  App app = make_app(server(), "shop");
  webhook_on_app(app.id, receiver.url("/hook"), "[0]");
  std::string job_id = only_job_id(send_event(app));
  json::value dead = wait_status(job_id, "dead");
  EXPECT_NE(str(dead, "last_error").find("internal"), std::string::npos) << dump(dead);
  EXPECT_TRUE(at(arr(dead, "attempts_log")[0], "http_status").is_null());
  EXPECT_EQ(receiver.count("/hook"), 0u);
}

TEST_F(IntegrationsTest, DeletingAnIntegrationCancelsItsWaitingJobs) {
  FakeProvider receiver;
  receiver.set("/down", Reply{.status = 500, .body = "down", .content_type = "text/plain"});
  App app = make_app(server(), "shop");
  json::value integration = webhook_on_app(app.id, receiver.url("/down"), "[0,3600]");
  std::string job_id = only_job_id(send_event(app));
  wait_status(job_id, "failed");
  ASSERT_EQ(server().request("DELETE", "/v1/integrations/" + str(integration, "id"), server().admin()).status, 204);
  json::value cancelled = job(job_id);
  EXPECT_EQ(str(cancelled, "status"), "cancelled");
  EXPECT_TRUE(arr(send_event(app), "actions").empty());
}

TEST_F(IntegrationsTest, ReplayMakesJobsForPastRecords) {
  FakeProvider receiver;
  receiver.set("/hook", Reply{.status = 200, .body = "ok", .content_type = "text/plain"});
  // Responses that landed before the integration existed.
  std::string form_id = create_form_id(server(), J(R"({"title":"t","questions":[{"key":"n","type":"integer"}]})"));
  std::set<std::string> responses;
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = submit(server(), form_id, J("{\"n\":" + std::to_string(i) + "}"));
    ASSERT_EQ(r.status, 201);
    responses.insert(str(r.json(), "id"));
  }
  json::value on_form =
      create_integration(J(R"({"name":"crm","source":{"form_id":")" + form_id +
                           R"("},"type":"webhook","config":{"url":")" + receiver.url("/hook") + R"("}})"));
  std::string path = "/v1/integrations/" + str(on_form, "id") + "/replay";
  EXPECT_TRUE(
      IsValidationError(server().request("POST", path, admin_json(), R"({"since":"yesterday"})"), {"since", "until"}));
  EXPECT_TRUE(IsValidationError(server().request("POST", path, admin_json(),
                                                 R"({"since":"2026-01-02T00:00:00Z","until":"2026-01-01T00:00:00Z"})"),
                                {"until"}));
  EXPECT_EQ(server()
                .request("POST", "/v1/integrations/0193a1b2-c3d4-7000-8000-123456789abc/replay", admin_json(),
                         R"({"since":"2020-01-01T00:00:00Z","until":"2099-01-01T00:00:00Z"})")
                .status,
            404);
  // A range that holds nothing makes nothing.
  HttpResponse none = server().request("POST", path, admin_json(),
                                       R"({"since":"2020-01-01T00:00:00Z","until":"2020-01-02T00:00:00Z"})");
  ASSERT_EQ(none.status, 202) << none.summary();
  EXPECT_EQ(num(none.json(), "jobs"), 0);

  HttpResponse replayed = server().request("POST", path, admin_json(),
                                           R"({"since":"2020-01-01T00:00:00Z","until":"2099-01-01T00:00:00Z"})");
  ASSERT_EQ(replayed.status, 202) << replayed.summary();
  EXPECT_EQ(num(replayed.json(), "jobs"), 3);
  HttpResponse listed = server().get("/v1/jobs?integration_id=" + str(on_form, "id"), server().admin());
  ASSERT_EQ(listed.status, 200);
  json::value page = listed.json();
  ASSERT_EQ(arr(page, "items").size(), 3u);
  std::set<std::string> sources;
  for (const auto& j : arr(page, "items")) {
    EXPECT_EQ(str(j, "type"), "response.created");
    sources.insert(str(j, "source_id"));
    wait_status(str(j, "id"), "succeeded");
  }
  EXPECT_EQ(sources, responses);
  EXPECT_EQ(receiver.count("/hook"), 3u);

  // Events: the range is on the events' own times.
  App app = make_app(server(), "shop");
  for (std::string hour : {"10", "11", "12", "13"}) {
    std::string event = R"({"session_id":"0193a1b2-c3d4-7000-8000-123456789abc","category":"ui","name":"h)" + hour +
                        R"(","data":{},"timestamp":"2026-01-01T)" + hour + R"(:00:00Z"})";
    ASSERT_EQ(server().request("POST", "/v1/events", token_json(app.token), event).status, 202);
  }
  json::value on_app = webhook_on_app(app.id, receiver.url("/hook"));
  HttpResponse events = server().request("POST", "/v1/integrations/" + str(on_app, "id") + "/replay", admin_json(),
                                         R"({"since":"2026-01-01T10:30:00Z","until":"2026-01-01T12:30:00Z"})");
  ASSERT_EQ(events.status, 202) << events.summary();
  EXPECT_EQ(num(events.json(), "jobs"), 2);
  HttpResponse event_jobs = server().get("/v1/jobs?integration_id=" + str(on_app, "id"), server().admin());
  json::value event_page = event_jobs.json();
  std::set<std::string> names;
  for (const auto& j : arr(event_page, "items")) names.insert(str(at(j, "data"), "name"));
  EXPECT_EQ(names, (std::set<std::string>{"h11", "h12"}));

  // A disabled integration replays nothing: 409, and no job is made.
  std::string app_integration = "/v1/integrations/" + str(on_app, "id");
  ASSERT_EQ(server().request("PATCH", app_integration, admin_json(), R"({"enabled":false})").status, 200);
  HttpResponse disabled = server().request("POST", app_integration + "/replay", admin_json(),
                                           R"({"since":"2026-01-01T10:30:00Z","until":"2026-01-01T12:30:00Z"})");
  EXPECT_EQ(disabled.status, 409) << disabled.summary();
  HttpResponse after = server().get("/v1/jobs?integration_id=" + str(on_app, "id"), server().admin());
  EXPECT_EQ(arr(after.json(), "items").size(), 2u);
}

TEST_F(IntegrationsTest, PerIntegrationConcurrencyAndRateLimitsHold) {
  FakeProvider receiver;
  std::mutex mu;
  int now_in = 0, most_in = 0;
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  receiver.set_handler("/slow", [&](const FakeProvider::Request&) {
    {
      std::lock_guard lock(mu);
      most_in = std::max(most_in, ++now_in);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::lock_guard lock(mu);
    --now_in;
    return Reply{.status = 200, .body = "ok", .content_type = "text/plain"};
  });
  receiver.set_handler("/paced", [&](const FakeProvider::Request&) {
    std::lock_guard lock(mu);
    arrivals.push_back(std::chrono::steady_clock::now());
    return Reply{.status = 200, .body = "ok", .content_type = "text/plain"};
  });
  App slow_app = make_app(server(), "slow");
  create_integration(J(R"({"name":"two at once","source":{"app_id":")" + slow_app.id +
                       R"("},"type":"webhook","config":{"url":")" + receiver.url("/slow") +
                       R"(","max_in_flight":2}})"));
  App paced_app = make_app(server(), "paced");
  create_integration(J(R"({"name":"five a second","source":{"app_id":")" + paced_app.id +
                       R"("},"type":"webhook","config":{"url":")" + receiver.url("/paced") +
                       R"(","max_per_second":5}})"));
  std::vector<std::string> jobs;
  for (int i = 0; i < 6; ++i) jobs.push_back(only_job_id(send_event(slow_app)));
  for (int i = 0; i < 6; ++i) jobs.push_back(only_job_id(send_event(paced_app)));
  for (const auto& id : jobs) wait_status(id, "succeeded", 30s);
  std::lock_guard lock(mu);
  EXPECT_EQ(most_in, 2) << "max_in_flight 2 was not held (or never reached)";
  ASSERT_EQ(arrivals.size(), 6u);
  std::sort(arrivals.begin(), arrivals.end());
  // Six requests at five a second, evenly spaced: the last comes at least a second after the first.
  EXPECT_GE(arrivals.back() - arrivals.front(), std::chrono::milliseconds(950));
}

// SIGTERM ends the process within --shutdown-grace-ms whatever a handler
// awaits: here a submission waits on a sync webhook (30 s timeout) whose
// receiver never answers. Before, the process lived until the call timed out.
TEST_F(IntegrationsTest, SigtermEndsTheProcessWithinTheGraceWhateverAHandlerAwaits) {
  DaisyProcess::Options options = allowing_private_targets();
  options.args.insert(options.args.end(), {"--shutdown-grace-ms", "1000"});
  start(options);
  FakeProvider receiver;
  receiver.set("/hang", Reply{.status = 200, .body = "{}", .content_type = "application/json", .hang = true});
  std::string form_id = create_form_id(server(), J(R"({"title":"t","questions":[{"key":"n","type":"integer"}]})"));
  create_integration(J(R"({"name":"hang","source":{"form_id":")" + form_id +
                       R"("},"type":"webhook","mode":"sync","config":{"url":")" + receiver.url("/hang") +
                       R"(","timeout_ms":30000}})"));
  Client c = server().connect();
  std::string body = R"({"answers":{"n":1}})";
  ASSERT_TRUE(c.send_raw(build_request("POST", responses_path(form_id), admin_json(), body)));
  eventually([&] { return !receiver.requests("/hang").empty(); }, 10s);
  ASSERT_EQ(receiver.requests("/hang").size(), 1u) << "the sync call never reached the receiver";
  auto signalled = std::chrono::steady_clock::now();
  ExitStatus s = server().stop(SIGTERM, 25s);
  auto took = std::chrono::steady_clock::now() - signalled;
  receiver.release_hangs();
  EXPECT_TRUE(s.exited) << s.describe() << " after "
                        << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  // Well before the call's own 30 s timeout could have let it end.
  EXPECT_LT(took, 20s);
  EXPECT_NE(server().err_text().find("shutdown grace expired"), std::string::npos) << server().err_tail();
  start(allowing_private_targets());  // the fixture ends by checking that its server runs
}

// Webhooks to an IPv6 literal are delivered when private targets are
// allowed (this fixture's server allows them) and refused otherwise.
TEST_F(IntegrationsTest, WebhooksReachIpv6LiteralsUnderThePrivateAddressRule) {
  FakeProvider receiver(FakeProvider::Family::ipv6);
  receiver.set("/hook", Reply{.status = 200, .body = "ok", .content_type = "text/plain"});
  App app = make_app(server(), "v6");
  webhook_on_app(app.id, receiver.url("/hook"));
  std::string job_id = only_job_id(send_event(app));
  wait_status(job_id, "succeeded", 30s);
  EXPECT_EQ(receiver.count("/hook"), 1u);

  start(DaisyProcess::Options{});  // private targets refused
  App strict_app = make_app(server(), "v6-strict");
  webhook_on_app(strict_app.id, receiver.url("/hook"), "[0]");
  json::value failed = wait_status(only_job_id(send_event(strict_app)), "dead", 30s);
  EXPECT_NE(str(failed, "last_error").find("internal"), std::string::npos) << dump(failed);
  EXPECT_EQ(receiver.count("/hook"), 1u) << "no request may reach [::1] without --allow-private-targets";
}

TEST_F(IntegrationsTest, SyncWebhooksAnswerWithinTheSubmission) {
  FakeProvider receiver;
  receiver.set("/decide",
               Reply{.status = 200, .body = R"({"decision":"approve","score":7})", .content_type = "application/json"});
  receiver.set("/broken", Reply{.status = 500, .body = "down", .content_type = "text/plain"});
  receiver.set("/hang", Reply{.status = 200, .body = "{}", .content_type = "application/json", .hang = true});
  std::string form_id = create_form_id(server(), J(R"({"title":"t","questions":[{"key":"n","type":"integer"}]})"));
  auto sync_on_form = [&](const std::string& name, const std::string& path, int timeout_ms) {
    return create_integration(J(R"({"name":")" + name + R"(","source":{"form_id":")" + form_id +
                                R"("},"type":"webhook","mode":"sync","config":{"url":")" + receiver.url(path) +
                                R"(","timeout_ms":)" + std::to_string(timeout_ms) + "}}"));
  };
  json::value decide = sync_on_form("decide", "/decide", 2000);
  json::value broken = sync_on_form("broken", "/broken", 2000);
  json::value hang = sync_on_form("hang", "/hang", 300);

  HttpResponse submitted = submit(server(), form_id, J(R"({"n":1})"));
  ASSERT_EQ(submitted.status, 201) << submitted.summary();  // the failures do not fail the submission
  json::value reply = submitted.json();
  std::map<std::string, json::value> by_integration;
  for (const auto& a : arr(reply, "actions")) by_integration[str(a, "integration_id")] = a;
  ASSERT_EQ(by_integration.size(), 3u) << dump(reply);
  const json::value& ok = by_integration[str(decide, "id")];
  EXPECT_EQ(str(ok, "mode"), "sync");
  EXPECT_EQ(str(ok, "status"), "succeeded");
  EXPECT_EQ(dump(at(ok, "output")), R"({"decision":"approve","score":7})");
  EXPECT_TRUE(at(ok, "error").is_null());
  EXPECT_FALSE(ok.as_object().contains("job_id"));
  const json::value& failed = by_integration[str(broken, "id")];
  EXPECT_EQ(str(failed, "status"), "failed");
  EXPECT_NE(str(failed, "error").find("500"), std::string::npos);
  EXPECT_TRUE(at(failed, "output").is_null());
  EXPECT_EQ(str(by_integration[str(hang, "id")], "status"), "timeout");
  receiver.release_hangs();

  // The call is signed like any webhook and carries the stored response.
  auto calls = receiver.requests("/decide");
  ASSERT_EQ(calls.size(), 1u);
  const auto& call = calls[0];
  EXPECT_EQ(call.header("webhook-signature"), expected_signature(str(decide, "secret"), call.header("webhook-id"),
                                                                 call.header("webhook-timestamp"), call.body));
  EXPECT_EQ(str(at(J(call.body), "data"), "id"), str(reply, "id"));
  // The response was stored; sync calls make no job.
  EXPECT_EQ(server().get(responses_path(form_id) + "/" + str(reply, "id"), server().admin()).status, 200);
  EXPECT_TRUE(arr(server().get("/v1/jobs", server().admin()).json(), "items").empty());

  // A single event calls its app's sync integrations too.
  App app = make_app(server(), "shop");
  create_integration(J(R"({"name":"d","source":{"app_id":")" + app.id +
                       R"("},"type":"webhook","mode":"sync","config":{"url":")" + receiver.url("/decide") + R"("}})"));
  json::value accepted = send_event(app);
  ASSERT_EQ(arr(accepted, "actions").size(), 1u);
  EXPECT_EQ(str(arr(accepted, "actions")[0], "status"), "succeeded");
  EXPECT_EQ(num(at(arr(accepted, "actions")[0], "output"), "score"), 7);
}

// kill -9 while deliveries hang at the receiver: after a restart every job
// still finishes. The receiver may see a webhook-id twice, never lose one.
TEST_F(IntegrationsTest, KillNineWhileDeliveriesAreInFlightLosesNoJob) {
  FakeProvider receiver;
  std::atomic<bool> hang{true};
  hang_while(receiver, "/hook", hang);
  App app = make_app(server(), "shop");
  webhook_on_app(app.id, receiver.url("/hook"), "[0,1,1,1,1,1]");
  std::vector<std::string> jobs;
  for (int i = 0; i < 20; ++i) jobs.push_back(only_job_id(send_event(app)));
  ASSERT_TRUE(eventually([&] { return receiver.count("/hook") >= 20; }, 20s)) << receiver.count("/hook");
  server().kill9();
  hang = false;
  receiver.release_hangs();
  ASSERT_TRUE(server().start()) << server().start_error();
  for (const auto& id : jobs) wait_status(id, "succeeded", 30s);
  std::map<std::string, int> seen;
  for (const auto& r : receiver.requests("/hook")) ++seen[r.header("webhook-id")];
  for (const auto& id : jobs) EXPECT_GE(seen[id], 2) << "job " << id << " was not delivered again after the restart";
}

// A commit's jobs wait in the outbox until the runner has room for them: with
// 256 deliveries hanging, most of a 1000-event batch's 2000 jobs are still
// there when the process is killed. They are counted as pending meanwhile,
// and after the restart every one is delivered.
TEST_F(IntegrationsTest, JobsNotYetTakenSurviveKillNine) {
  FakeProvider receiver;
  std::atomic<bool> hang{true};
  hang_while(receiver, "/hook", hang);
  App app = make_app(server(), "shop");
  webhook_on_app(app.id, receiver.url("/hook"), "[0,1,1,1,1,1]");
  webhook_on_app(app.id, receiver.url("/hook"), "[0,1,1,1,1,1]");
  std::string batch = event_batch(1000) + "]}";
  HttpResponse r = server().request("POST", "/v1/events", token_json(app.token), batch);
  ASSERT_EQ(r.status, 202) << r.summary();
  json::value reply = r.json();
  ASSERT_EQ(arr(reply, "actions").size(), 2000u);
  ASSERT_TRUE(eventually([&] { return receiver.count("/hook") >= 256; }, 20s)) << receiver.count("/hook");
  // The queue is counted every second.
  std::string metrics;
  std::optional<double> pending, running;
  eventually(
      [&] {
        metrics = server().get("/metrics").body;
        pending = metric_value(metrics, R"(daisy_jobs{status="pending"})");
        running = metric_value(metrics, R"(daisy_jobs{status="running"})");
        return pending && running && *pending + *running == 2000.0;
      },
      5s);
  ASSERT_TRUE(pending && running) << metrics;
  EXPECT_EQ(*pending + *running, 2000.0) << metrics;
  EXPECT_GE(*pending, 2000.0 - 256.0 - 128.0);  // at most a claim's worth filed beyond those in flight

  server().kill9();
  hang = false;
  receiver.release_hangs();
  ASSERT_TRUE(server().start()) << server().start_error();
  std::set<std::string> expected;
  for (const auto& action : arr(reply, "actions")) expected.insert(str(action, "job_id"));
  std::set<std::string> delivered;
  eventually(
      [&] {
        delivered.clear();
        for (const auto& hook : receiver.requests("/hook")) delivered.insert(hook.header("webhook-id"));
        return delivered.size() >= expected.size();
      },
      60s);
  EXPECT_EQ(delivered, expected);
  HttpResponse listed = server().get("/v1/jobs?status=succeeded&limit=1", server().admin());
  EXPECT_EQ(listed.status, 200) << listed.summary();
  for (const auto& id : {*expected.begin(), *expected.rbegin()}) wait_status(id, "succeeded", 30s);
}

// The first delay of an integration's schedule holds for new jobs too.
TEST_F(IntegrationsTest, TheFirstDelayOfTheScheduleIsKept) {
  FakeProvider receiver;
  receiver.set("/later", Reply{.status = 200, .body = "ok", .content_type = "text/plain"});
  App app = make_app(server(), "shop");
  webhook_on_app(app.id, receiver.url("/later"), "[2,1]");
  std::string id = only_job_id(send_event(app));
  json::value waiting = job(id);
  EXPECT_EQ(str(waiting, "status"), "pending") << dump(waiting);
  EXPECT_TRUE(at(waiting, "next_attempt_at").is_string()) << dump(waiting);
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(receiver.count("/later"), 0u) << "delivered before the first delay of 2 s";
  wait_status(id, "succeeded", 20s);
  EXPECT_EQ(receiver.count("/later"), 1u);
}

// Jobs still in the outbox (the runner's 256 places are taken by hanging
// deliveries) can be cancelled, and a repeated submission lists its job
// among them without filing anything.
TEST_F(IntegrationsTest, JobsNotYetTakenCanBeCancelledAndAreListedOnAReplay) {
  FakeProvider receiver;
  std::atomic<bool> hang{true};
  hang_while(receiver, "/hook", hang);
  App app = make_app(server(), "shop");
  webhook_on_app(app.id, receiver.url("/hook"));
  std::string form_id = create_form_id(server(), J(R"({"title":"t","questions":[{"key":"n","type":"integer"}]})"));
  create_integration(J(R"({"name":"crm","source":{"form_id":")" + form_id + R"("},"type":"webhook","config":{"url":")" +
                       receiver.url("/hook") + R"("}})"));
  HttpResponse batch = server().request("POST", "/v1/events", token_json(app.token), event_batch(300) + "]}");
  ASSERT_EQ(batch.status, 202) << batch.summary();
  json::value accepted = batch.json();
  const auto& actions = arr(accepted, "actions");
  ASSERT_EQ(actions.size(), 300u);
  ASSERT_TRUE(eventually([&] { return receiver.count("/hook") >= 256; }, 20s)) << receiver.count("/hook");

  HttpResponse submitted = submit(server(), form_id, J(R"({"n":1})"), {{"Idempotency-Key", "k1"}});
  ASSERT_EQ(submitted.status, 201) << submitted.summary();
  std::string response_job = only_job_id(submitted.json());
  HttpResponse repeated = submit(server(), form_id, J(R"({"n":1})"), {{"Idempotency-Key", "k1"}});
  ASSERT_EQ(repeated.status, 201) << repeated.summary();
  EXPECT_EQ(only_job_id(repeated.json()), response_job);
  EXPECT_EQ(str(arr(repeated.json(), "actions")[0], "status"), "pending");

  std::string last = str(actions[299], "job_id");
  HttpResponse cancelled = server().request("POST", "/v1/jobs/" + last + "/cancel", admin_json(), "");
  ASSERT_EQ(cancelled.status, 200) << cancelled.summary();
  EXPECT_EQ(str(cancelled.json(), "status"), "cancelled");

  hang = false;
  receiver.release_hangs();
  for (const auto& action : actions) {
    std::string id = str(action, "job_id");
    wait_status(id, id == last ? "cancelled" : "succeeded", 30s);
  }
  wait_status(response_job, "succeeded", 30s);
  std::set<std::string> delivered;
  for (const auto& hook : receiver.requests("/hook")) delivered.insert(hook.header("webhook-id"));
  EXPECT_EQ(delivered.count(last), 0u) << "a cancelled job was delivered";
  EXPECT_EQ(delivered.count(response_job), 1u);
}

// Jobs waiting in the outbox (the runner's places are all taken by hanging
// deliveries, so it claims no more) are listed all the same: a listing whose
// page is short files what it needs, page after page.
TEST_F(IntegrationsTest, ListingsReachTheJobsWaitingInTheOutbox) {
  FakeProvider receiver;
  std::atomic<bool> hang{true};
  hang_while(receiver, "/hook", hang);
  App app = make_app(server(), "shop");
  webhook_on_app(app.id, receiver.url("/hook"));
  HttpResponse batch = server().request("POST", "/v1/events", token_json(app.token), event_batch(600) + "]}");
  ASSERT_EQ(batch.status, 202) << batch.summary();
  json::value accepted = batch.json();
  std::set<std::string> made;
  for (const auto& a : arr(accepted, "actions")) made.insert(str(a, "job_id"));
  ASSERT_EQ(made.size(), 600u);
  ASSERT_TRUE(eventually([&] { return receiver.count("/hook") >= 256; }, 20s)) << receiver.count("/hook");

  std::vector<std::string> listed;
  std::string cursor;
  for (int page = 0; page < 100; ++page) {
    HttpResponse r =
        server().get("/v1/jobs?status=pending&limit=50" + (cursor.empty() ? "" : "&after=" + cursor), server().admin());
    ASSERT_EQ(r.status, 200) << r.summary();
    json::value body = r.json();
    for (const auto& item : arr(body, "items")) listed.push_back(str(item, "id"));
    if (at(body, "next_cursor").is_null()) break;
    cursor = std::string(at(body, "next_cursor").as_string());
  }
  std::set<std::string> unique(listed.begin(), listed.end());
  EXPECT_EQ(unique.size(), listed.size()) << "a job was listed twice";
  for (const auto& id : unique) EXPECT_EQ(made.count(id), 1u) << id;
  // At most the runner's 256 places and one claim of 128 were taken from the outbox.
  EXPECT_GE(unique.size(), 600u - 256u - 128u);
  hang = false;
  receiver.release_hangs();
}

// ---------------------------------------------------------------- redis

class RedisIntegrationsTest : public IntegrationsTest {
 protected:
  void SetUp() override {
    IntegrationsTest::SetUp();
    ASSERT_TRUE(redis_.ok()) << redis_.error();
  }

  json::value redis_on_app(const App& app, const std::string& channel, const std::string& schedule,
                           int callback_timeout_s = 600) {
    return create_integration(J(R"({"name":"ms","source":{"app_id":")" + app.id +
                                R"("},"type":"redis","config":{"url":")" + redis_.url() + R"(","channel":")" + channel +
                                R"(","callback_timeout_s":)" + std::to_string(callback_timeout_s) +
                                R"(},"retry":{"schedule_s":)" + schedule + "}}"));
  }

  HttpResponse call_back(const json::value& message, std::string_view body, std::string token = "") {
    if (token.empty()) token = str(message, "callback_token");
    std::string url = str(message, "callback_url");
    std::string prefix = "http://127.0.0.1:" + std::to_string(server().port());
    EXPECT_EQ(url.rfind(prefix, 0), 0u) << url;
    return server().request("POST", url.substr(prefix.size()), token_json(token), body);
  }

  RedisServer redis_;
};

TEST_F(RedisIntegrationsTest, PublishesTheJobAndASuccessfulCallbackEndsIt) {
  App app = make_app(server(), "shop");
  Subscriber subscriber(redis_.port(), "jobs");
  ASSERT_TRUE(subscriber.ok());
  redis_on_app(app, "jobs", "[0,5]");
  json::value accepted = send_event(app, "published");
  std::string job_id = only_job_id(accepted);

  auto payload = subscriber.next();
  ASSERT_TRUE(payload) << "nothing was published";
  json::value message = J(*payload);
  EXPECT_EQ(str(message, "job_id"), job_id);
  EXPECT_EQ(str(message, "type"), "event.created");
  EXPECT_EQ(str(at(message, "data"), "id"), str(accepted, "id"));
  EXPECT_EQ(str(message, "callback_url"),
            "http://127.0.0.1:" + std::to_string(server().port()) + "/v1/jobs/" + job_id + "/callback");
  EXPECT_GE(str(message, "callback_token").size(), 40u);
  json::value waiting = wait_status(job_id, "awaiting_callback");
  EXPECT_EQ(num(waiting, "attempts"), 1);

  // Only the job's own token is accepted; the body is checked.
  EXPECT_EQ(call_back(message, R"({"status":"succeeded"})", "not-the-token").status, 401);
  EXPECT_EQ(
      server().request("POST", "/v1/jobs/" + job_id + "/callback", json_content(), R"({"status":"succeeded"})").status,
      401);
  EXPECT_EQ(call_back(message, R"({"status":"succeeded"})", std::string(kAdminToken)).status, 401);
  EXPECT_TRUE(IsValidationError(call_back(message, R"({"status":"done","extra":1})"), {"status", "extra"}));
  // A job that does not exist, whatever the token.
  EXPECT_EQ(server()
                .request("POST", "/v1/jobs/0193a1b2-c3d4-7000-8000-123456789abc/callback", token_json("any-token"),
                         R"({"status":"succeeded"})")
                .status,
            404);
  EXPECT_EQ(str(job(job_id), "status"), "awaiting_callback");

  HttpResponse done = call_back(message, R"({"status":"succeeded","output":{"crm_id":42}})");
  ASSERT_EQ(done.status, 200) << done.summary();
  EXPECT_EQ(str(done.json(), "status"), "succeeded");
  json::value finished = job(job_id);
  EXPECT_EQ(dump(at(finished, "output")), R"({"crm_id":42})");
  ASSERT_EQ(arr(finished, "attempts_log").size(), 1u);
  EXPECT_EQ(str(arr(finished, "attempts_log")[0], "outcome"), "succeeded");
  // A second callback changes nothing.
  EXPECT_TRUE(IsProblem(call_back(message, R"({"status":"failed"})"), 409, "conflict"));
  EXPECT_EQ(str(job(job_id), "status"), "succeeded");
}

// config.transform on a redis integration: what is published is what the
// transform returns; nil skips the event (the job is cancelled, nothing goes
// out); the transform's log lines stay in the delivering attempt.
TEST_F(RedisIntegrationsTest, ATransformReshapesWhatIsPublishedOrSkipsTheEvent) {
  App app = make_app(server(), "shop");
  Subscriber subscriber(redis_.port(), "shaped");
  ASSERT_TRUE(subscriber.ok());
  constexpr std::string_view transform = R"(
function transform(event, ctx)
  if event.name == "ignored" then return nil end
  ctx.log("shaped", event.name)
  return {event = event.name, n = event.data.n, for_crm = true}
end
)";
  json::object config{{"url", redis_.url()}, {"channel", "shaped"}, {"transform", transform}};
  create_integration(json::object{
      {"name", "ms"}, {"source", json::object{{"app_id", app.id}}}, {"type", "redis"}, {"config", config}});
  std::string skipped = only_job_id(send_event(app, "ignored"));
  std::string sent = only_job_id(send_event(app, "published"));

  auto payload = subscriber.next();
  ASSERT_TRUE(payload) << "nothing was published";
  json::value message = J(*payload);
  EXPECT_EQ(str(message, "job_id"), sent) << "the skipped event was published first";
  EXPECT_EQ(at(message, "data"), J(R"({"event":"published","n":1,"for_crm":true})"));
  json::value none = wait_status(skipped, "cancelled");
  EXPECT_EQ(str(arr(none, "attempts_log")[0], "outcome"), "skipped") << dump(none);
  EXPECT_FALSE(subscriber.next(500ms)) << "a skipped event was published";

  ASSERT_EQ(call_back(message, R"({"status":"succeeded"})").status, 200);
  json::value done = wait_status(sent, "succeeded");
  EXPECT_EQ(at(arr(done, "attempts_log")[0], "log"), J(R"(["shaped published"])")) << dump(done);
}

// A microservice may call back before Daisy's PUBLISH has even returned: the
// job awaits its callback (with the token's hash) before the message goes out.
TEST_F(RedisIntegrationsTest, ACallbackSentTheMomentTheMessageArrivesIsAccepted) {
  App app = make_app(server(), "fast");
  Subscriber subscriber(redis_.port(), "jobs");
  ASSERT_TRUE(subscriber.ok());
  redis_on_app(app, "jobs", "[0,5]");
  for (int i = 0; i < 10; ++i) {
    std::string job_id = only_job_id(send_event(app, "quick-" + std::to_string(i)));
    auto payload = subscriber.next();
    ASSERT_TRUE(payload) << "nothing was published";
    json::value message = J(*payload);
    ASSERT_EQ(str(message, "job_id"), job_id);
    HttpResponse done = call_back(message, R"({"status":"succeeded"})");
    EXPECT_EQ(done.status, 200) << i << ": " << done.summary();
    json::value finished = wait_status(job_id, "succeeded");
    EXPECT_EQ(arr(finished, "attempts_log").size(), 1u) << dump(finished);
  }
}

TEST_F(RedisIntegrationsTest, AFailedCallbackIsRetriedWithANewToken) {
  App app = make_app(server(), "shop");
  Subscriber subscriber(redis_.port(), "work");
  ASSERT_TRUE(subscriber.ok());
  redis_on_app(app, "work", "[0,1,1]");
  std::string job_id = only_job_id(send_event(app));

  auto first = subscriber.next();
  ASSERT_TRUE(first);
  json::value m1 = J(*first);
  wait_status(job_id, "awaiting_callback");
  HttpResponse failed = call_back(m1, R"({"status":"failed","error":"the CRM refused it"})");
  ASSERT_EQ(failed.status, 200) << failed.summary();
  EXPECT_EQ(str(failed.json(), "status"), "failed");
  EXPECT_EQ(str(failed.json(), "last_error"), "the CRM refused it");

  auto second = subscriber.next();
  ASSERT_TRUE(second) << "the job was not published again";
  json::value m2 = J(*second);
  EXPECT_EQ(str(m2, "job_id"), job_id);
  EXPECT_NE(str(m2, "callback_token"), str(m1, "callback_token"));
  wait_status(job_id, "awaiting_callback");
  EXPECT_EQ(call_back(m2, R"({"status":"succeeded"})", str(m1, "callback_token")).status, 401);  // the old token
  ASSERT_EQ(call_back(m2, R"({"status":"succeeded"})").status, 200);
  json::value done = job(job_id);
  EXPECT_EQ(str(done, "status"), "succeeded");
  EXPECT_EQ(num(done, "attempts"), 2);
  const auto& log = arr(done, "attempts_log");
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(str(log[0], "outcome"), "failed");
  EXPECT_EQ(str(log[1], "outcome"), "succeeded");
}

TEST_F(RedisIntegrationsTest, ACallbackThatNeverComesIsAFailedAttempt) {
  App app = make_app(server(), "shop");
  Subscriber subscriber(redis_.port(), "silent");
  ASSERT_TRUE(subscriber.ok());
  redis_on_app(app, "silent", "[0,1]", 1);
  std::string job_id = only_job_id(send_event(app));
  ASSERT_TRUE(subscriber.next());
  ASSERT_TRUE(subscriber.next()) << "no second attempt after the first callback timed out";
  json::value dead = wait_status(job_id, "dead");
  EXPECT_EQ(num(dead, "attempts"), 2);
  const auto& log = arr(dead, "attempts_log");
  ASSERT_EQ(log.size(), 2u) << dump(dead);
  for (const auto& attempt : log) {
    EXPECT_EQ(str(attempt, "outcome"), "timeout");
    EXPECT_NE(str(attempt, "error").find("no callback"), std::string::npos);
  }
}

TEST_F(RedisIntegrationsTest, APublishNoSubscriberReceivedIsAFailedAttempt) {
  App app = make_app(server(), "shop");
  redis_on_app(app, "nobody-listens", "[0,1]");
  std::string job_id = only_job_id(send_event(app));
  json::value dead = wait_status(job_id, "dead");
  EXPECT_EQ(num(dead, "attempts"), 2);
  EXPECT_NE(str(dead, "last_error").find("no subscriber"), std::string::npos) << dump(dead);
}

TEST_F(RedisIntegrationsTest, AnUnreachableRedisIsAFailedAttempt) {
  App app = make_app(server(), "shop");
  create_integration(J(R"({"name":"ms","source":{"app_id":")" + app.id +
                       R"("},"type":"redis","config":{"url":"redis://127.0.0.1:1","channel":"c"},)"
                       R"("retry":{"schedule_s":[0]}})"));
  std::string job_id = only_job_id(send_event(app));
  json::value dead = wait_status(job_id, "dead");
  EXPECT_NE(str(dead, "last_error").find("connect"), std::string::npos) << dump(dead);
}

}  // namespace
}  // namespace daisy_e2e
