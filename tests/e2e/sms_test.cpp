// The sms action end to end, against FakeTwilio (a strict local server for
// Twilio's Messages API: basic auth, form-encoded sends, the listing's
// filters, signed status callbacks). Each test runs its own server with
// --allow-private-targets (the fake is on 127.0.0.1); Daisy's public URL is
// its listen address, where the fake's status callbacks go.
#include <boost/json.hpp>

#include <csignal>

#include "fake_twilio.h"
#include "harness.h"
#include "postgres_server.h"
#include "suite_support.h"

namespace daisy_e2e {
namespace {

using namespace fx;
using daisy::e2e::FakeTwilio;
using Signing = FakeTwilio::Signing;

constexpr std::string_view kForm = R"({"title":"shop","questions":[
  {"key":"name","type":"text","label":"Your name"},
  {"key":"phone","type":"text","label":"Mobile number"}]})";

class SmsTest : public OwnedServers {
 protected:
  static DaisyProcess::Options server_options() {
    DaisyProcess::Options o;
    o.args = {"--allow-private-targets"};
    if (on_postgres()) o.args.insert(o.args.end(), {"--job-lease-ms", "5000"});
    return o;
  }

  DaisyProcess& start_server() {
    DaisyProcess& d = make(server_options());
    EXPECT_TRUE(d.start()) << d.start_error();
    return d;
  }

  json::object sms_body(const std::string& form_id, json::object config = {}) {
    json::object c{{"provider", "twilio"},
                   {"account_sid", twilio_.account_sid()},
                   {"auth_token", twilio_.auth_token()},
                   {"from", "+15005550006"},
                   {"api_base", twilio_.base_url()},
                   {"to", "{{answers.phone}}"},
                   {"body", "Thanks {{answers.name}}, receipt {{response.id}}"}};
    for (const auto& [k, v] : config) c[k] = v;
    return json::object{{"name", "receipt"},
                        {"source", json::object{{"form_id", form_id}}},
                        {"type", "sms"},
                        {"config", std::move(c)},
                        {"retry", json::object{{"schedule_s", J("[0,1,1]")}}}};
  }

  std::string create_sms(DaisyProcess& d, const std::string& form_id, json::object config = {}) {
    HttpResponse r = d.request("POST", "/v1/integrations", admin_json(), dump(sms_body(form_id, std::move(config))));
    EXPECT_EQ(r.status, 201) << r.summary();
    return r.status == 201 ? str(r.json(), "id") : std::string();
  }

  // Submits name and phone; the response's id and its job's id.
  std::pair<std::string, std::string> submit_receipt(DaisyProcess& d, const std::string& form_id, std::string_view name,
                                                     std::string_view phone) {
    HttpResponse r = submit(d, form_id, json::object{{"name", name}, {"phone", phone}});
    EXPECT_EQ(r.status, 201) << r.summary();
    json::value reply = r.json();
    const auto& actions = arr(reply, "actions");
    return {str(reply, "id"), actions.empty() ? std::string() : str(actions[0], "job_id")};
  }

  static json::value wait_job(const DaisyProcess& d, const std::string& id, std::string_view status,
                              std::chrono::milliseconds timeout = 30s) {
    json::value last;
    eventually(
        [&] {
          HttpResponse r = d.get("/v1/jobs/" + id, d.admin());
          if (r.status == 200) last = r.json();
          return str(last, "status") == status;
        },
        timeout);
    EXPECT_EQ(str(last, "status"), status) << dump(last);
    return last;
  }

  // Waits until the job awaits the delivery status of a message Twilio took
  // (its output names the sid: the job awaits from just before the send).
  static json::value wait_sent(const DaisyProcess& d, const std::string& id, std::chrono::milliseconds timeout = 30s) {
    json::value last;
    eventually(
        [&] {
          HttpResponse r = d.get("/v1/jobs/" + id, d.admin());
          if (r.status == 200) last = r.json();
          return str(last, "status") == "awaiting_callback" && at(last, "output").is_object();
        },
        timeout);
    EXPECT_EQ(str(last, "status"), "awaiting_callback") << dump(last);
    EXPECT_TRUE(at(last, "output").is_object()) << dump(last);
    return last;
  }

  // One message was sent and found again by one listing (not sent twice):
  // the job holds its sid, and its delivered status ends the job.
  void expect_found_once_then_delivered(const DaisyProcess& d, const std::string& job_id, const json::value& job,
                                        std::chrono::milliseconds timeout) {
    EXPECT_EQ(twilio_.count("send"), 1u) << "the receipt was sent again";
    EXPECT_EQ(twilio_.count("list"), 1u);
    ASSERT_EQ(twilio_.messages().size(), 1u);
    FakeTwilio::Message m = twilio_.messages().front();
    EXPECT_EQ(str(at(job, "output"), "sid"), m.sid) << dump(job);
    EXPECT_EQ(twilio_.post_status(m, "delivered").status, 204);
    wait_job(d, job_id, "succeeded", timeout);
  }

  void TearDown() override {
    if (HasFailure()) {
      std::string calls;
      for (const auto& c : twilio_.calls()) calls += c.kind + "=" + std::to_string(c.status) + " ";
      std::fprintf(stderr, "--- Twilio's calls: %s\n", calls.c_str());
    }
    OwnedServers::TearDown();
    auto errors = twilio_.errors();
    EXPECT_TRUE(errors.empty()) << "Daisy broke Twilio's protocol: " << (errors.empty() ? "" : errors.front());
  }

  FakeTwilio twilio_;
};

TEST_F(SmsTest, TheReceiptExampleSendsOneMessageAndTakesItsDeliveryStatus) {
  DaisyProcess& d = start_server();
  std::string form_id = create_form_id(d, J(kForm));
  std::string integration = create_sms(d, form_id);
  auto [response_id, job_id] = submit_receipt(d, form_id, "Ada", "+15551234567");
  json::value job = wait_sent(d, job_id);
  ASSERT_EQ(twilio_.messages().size(), 1u);
  FakeTwilio::Message m = twilio_.messages().front();
  EXPECT_EQ(m.to, "+15551234567");
  EXPECT_EQ(m.from, "+15005550006");
  EXPECT_EQ(m.body, "Thanks Ada, receipt " + response_id);
  EXPECT_EQ(m.status_callback, "http://127.0.0.1:" + std::to_string(d.port()) + "/v1/integrations/" + integration +
                                   "/sms-status?job=" + job_id);
  EXPECT_EQ(str(at(job, "output"), "sid"), m.sid) << dump(job);

  // On its way: nothing changes.
  HttpResponse r = twilio_.post_status(m, "sent");
  EXPECT_EQ(r.status, 204) << r.summary();
  EXPECT_EQ(str(wait_job(d, job_id, "awaiting_callback"), "status"), "awaiting_callback");
  r = twilio_.post_status(m, "delivered");
  EXPECT_EQ(r.status, 204) << r.summary();
  job = wait_job(d, job_id, "succeeded", 5s);
  EXPECT_EQ(str(at(job, "output"), "sid"), m.sid);
  EXPECT_EQ(str(at(job, "output"), "status"), "delivered");
  // Twilio repeats callbacks: a second one is harmless.
  r = twilio_.post_status(m, "delivered");
  EXPECT_EQ(r.status, 204) << r.summary();
  EXPECT_EQ(twilio_.count("send"), 1u);
  EXPECT_EQ(twilio_.count("list"), 0u);
  HttpResponse metrics = d.get("/metrics");
  EXPECT_NE(metrics.body.find("daisy_sms_messages_total{outcome=\"sent\"} 1"), std::string::npos);
  EXPECT_NE(metrics.body.find("daisy_sms_statuses_total{status=\"delivered\"} 2"), std::string::npos);
}

TEST_F(SmsTest, OnlyCorrectlySignedStatusesCount) {
  DaisyProcess& d = start_server();
  std::string form_id = create_form_id(d, J(kForm));
  std::string integration = create_sms(d, form_id);
  auto [response_id, job_id] = submit_receipt(d, form_id, "Bo", "+15551234567");
  wait_sent(d, job_id);
  ASSERT_EQ(twilio_.messages().size(), 1u);
  FakeTwilio::Message m = twilio_.messages().front();
  HttpResponse r = twilio_.post_status(m, "delivered", "", Signing::wrong);
  EXPECT_EQ(r.status, 403) << r.summary();
  EXPECT_EQ(r.header("Content-Type"), "application/problem+json");
  r = twilio_.post_status(m, "delivered", "", Signing::none);
  EXPECT_EQ(r.status, 403) << r.summary();
  // A signed status whose parameters were changed on the way.
  FakeTwilio::Callback cb = twilio_.status_callback(m, "failed");
  r = d.request("POST", cb.target, cb.headers, cb.body + "&ErrorCode=30003");
  EXPECT_EQ(r.status, 403) << r.summary();
  EXPECT_EQ(str(wait_job(d, job_id, "awaiting_callback"), "status"), "awaiting_callback");
  // Signed, for a job that is not there.
  FakeTwilio::Message other = m;
  other.status_callback = m.status_callback.substr(0, m.status_callback.find("?job=")) + "?job=nope";
  r = twilio_.post_status(other, "delivered");
  EXPECT_EQ(r.status, 404) << r.summary();
  // Failed: the job is dead, with Twilio's ErrorCode; it is not sent again.
  r = twilio_.post_status(m, "undelivered", "30003");
  EXPECT_EQ(r.status, 204) << r.summary();
  json::value job = wait_job(d, job_id, "dead", 5s);
  EXPECT_NE(str(job, "last_error").find("30003"), std::string::npos) << dump(job);
  EXPECT_EQ(twilio_.count("send"), 1u);
  (void)integration;
}

TEST_F(SmsTest, ARefusalFromTwilioIsFinal) {
  DaisyProcess& d = start_server();
  std::string form_id = create_form_id(d, J(kForm));
  create_sms(d, form_id);
  twilio_.fail_next(400);
  auto [response_id, job_id] = submit_receipt(d, form_id, "Cy", "+15551234567");
  json::value job = wait_job(d, job_id, "dead");
  const auto& log = arr(job, "attempts_log");
  ASSERT_EQ(log.size(), 1u) << dump(job);
  EXPECT_EQ(num(log[0], "http_status"), 400);
  EXPECT_NE(str(log[0], "error").find("code 21610"), std::string::npos) << dump(job);
  EXPECT_NE(str(log[0], "error").find("Attempt to send to unsubscribed recipient"), std::string::npos) << dump(job);
  EXPECT_TRUE(twilio_.messages().empty());
}

TEST_F(SmsTest, TooManyRequestsIsRetriedAndSendsOnce) {
  DaisyProcess& d = start_server();
  std::string form_id = create_form_id(d, J(kForm));
  create_sms(d, form_id);
  twilio_.fail_next(429);
  auto [response_id, job_id] = submit_receipt(d, form_id, "Di", "+15551234567");
  json::value job = wait_sent(d, job_id);
  const auto& log = arr(job, "attempts_log");
  ASSERT_EQ(log.size(), 2u) << dump(job);
  EXPECT_EQ(num(log[0], "http_status"), 429);
  EXPECT_EQ(twilio_.messages().size(), 1u);
  EXPECT_EQ(twilio_.count("list"), 0u);  // a 429 is a definite answer: nothing was sent
}

TEST_F(SmsTest, AnAttemptWhoseOutcomeIsUnknownFindsTheMessageInsteadOfSendingAgain) {
  DaisyProcess& d = start_server();
  std::string form_id = create_form_id(d, J(kForm));
  create_sms(d, form_id, json::object{{"timeout_ms", 500}});
  twilio_.delay_next(2500ms);  // taken at once, answered after Daisy gave up
  auto [response_id, job_id] = submit_receipt(d, form_id, "Ed", "+15551234567");
  json::value job;
  eventually(
      [&] {
        job = d.get("/v1/jobs/" + job_id, d.admin()).json();
        return arr(job, "attempts_log").size() == 2 && at(job, "output").is_object();
      },
      30s);
  ASSERT_EQ(arr(job, "attempts_log").size(), 2u) << dump(job);
  EXPECT_EQ(str(arr(job, "attempts_log")[0], "outcome"), "timeout") << dump(job);
  expect_found_once_then_delivered(d, job_id, job, 5s);
}

TEST_F(SmsTest, AKillDuringTheSendFindsTheMessageAfterTheRestartInsteadOfSendingAgain) {
  DaisyProcess& d = start_server();
  std::string form_id = create_form_id(d, J(kForm));
  // The interrupted send's job comes back a minute after timeout_ms.
  create_sms(d, form_id, json::object{{"timeout_ms", 500}});
  twilio_.delay_next(10s);  // Twilio takes the message at once; Daisy dies before the answer
  auto [response_id, job_id] = submit_receipt(d, form_id, "Iv", "+15551234567");
  eventually([&] { return twilio_.count("send") == 1; }, 10s);
  ASSERT_EQ(twilio_.count("send"), 1u);
  int port = d.port();
  EXPECT_EQ(d.kill9().signal, SIGKILL);

  // The same address, so the message's StatusCallback still reaches Daisy.
  DaisyProcess::Options o = server_options();
  o.args.insert(o.args.end(), {"--listen", "127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(d.start(std::move(o))) << d.start_error();
  json::value job = wait_sent(d, job_id, 90s);
  expect_found_once_then_delivered(d, job_id, job, 10s);
}

TEST_F(SmsTest, AMessagingServiceSendsInsteadOfAFromNumber) {
  DaisyProcess& d = start_server();
  std::string form_id = create_form_id(d, J(kForm));
  json::object body = sms_body(form_id, json::object{{"timeout_ms", 500}});
  json::object& config = body["config"].as_object();
  config.erase("from");
  const std::string service = "MG" + std::string(32, 'a');
  config["messaging_service_sid"] = service;
  ASSERT_EQ(d.request("POST", "/v1/integrations", admin_json(), dump(body)).status, 201);
  // The first answer comes too late, so the second attempt lists what was
  // sent, by To alone (a service has no From to filter by), and finds it.
  twilio_.delay_next(2500ms);
  auto [response_id, job_id] = submit_receipt(d, form_id, "Jo", "+15551234567");
  json::value job = wait_sent(d, job_id);
  ASSERT_EQ(twilio_.messages().size(), 1u);
  FakeTwilio::Message m = twilio_.messages().front();
  EXPECT_EQ(m.messaging_service_sid, service);
  EXPECT_EQ(m.from, "");
  EXPECT_EQ(twilio_.count("send"), 1u);
  EXPECT_EQ(twilio_.count("list"), 1u);
  EXPECT_EQ(str(at(job, "output"), "sid"), m.sid) << dump(job);
}

TEST_F(SmsTest, ARecordThatCannotMakeAMessageIsDeadAtOnce) {
  DaisyProcess& d = start_server();
  std::string form_id = create_form_id(d, J(kForm));
  create_sms(d, form_id, json::object{{"body", "Hi {{answers.nick}}"}});
  auto [r1, missing] = submit_receipt(d, form_id, "Fa", "+15551234567");
  json::value job = wait_job(d, missing, "dead");
  EXPECT_EQ(num(job, "attempts"), 1);
  EXPECT_NE(str(job, "last_error").find("answers.nick is missing"), std::string::npos) << dump(job);

  std::string form2 = create_form_id(d, J(kForm));
  create_sms(d, form2);
  auto [r2, not_e164] = submit_receipt(d, form2, "Ga", "555-1234");
  job = wait_job(d, not_e164, "dead");
  EXPECT_EQ(num(job, "attempts"), 1);
  EXPECT_NE(str(job, "last_error").find("E.164"), std::string::npos) << dump(job);
  EXPECT_TRUE(twilio_.calls().empty());
}

TEST_F(SmsTest, NoDeliveryStatusInTimeEndsTheJobWithoutSendingAgain) {
  DaisyProcess& d = start_server();
  std::string form_id = create_form_id(d, J(kForm));
  create_sms(d, form_id, json::object{{"callback_timeout_s", 1}});
  auto [response_id, job_id] = submit_receipt(d, form_id, "Hu", "+15551234567");
  json::value job = wait_job(d, job_id, "succeeded");
  EXPECT_EQ(str(at(job, "output"), "status"), "unknown") << dump(job);
  EXPECT_EQ(twilio_.count("send"), 1u);
}

TEST_F(SmsTest, TheDefinitionIsCheckedAndTheTokenNeverShown) {
  DaisyProcess& d = start_server();
  std::string form_id = create_form_id(d, J(kForm));
  std::string id = create_sms(d, form_id);
  HttpResponse r = d.get("/v1/integrations/" + id, d.admin());
  ASSERT_EQ(r.status, 200) << r.summary();
  EXPECT_EQ(str(at(r.json(), "config"), "auth_token"), "***");
  EXPECT_EQ(r.body.find(twilio_.auth_token()), std::string::npos);

  // A PATCH of config must send the token again.
  json::object config = sms_body(form_id).at("config").as_object();
  config["auth_token"] = "***";
  r = d.request("PATCH", "/v1/integrations/" + id, admin_json(), dump(json::object{{"config", config}}));
  EXPECT_TRUE(IsValidationError(r, {"config.auth_token"})) << r.summary();
  EXPECT_NE(error_message(r, "config.auth_token").value_or("").find("again"), std::string::npos);

  auto refused = [&](json::object change, std::vector<std::string> fields) {
    json::object body = sms_body(form_id, std::move(change));
    json::object& c = body["config"].as_object();
    for (auto it = c.begin(); it != c.end();) it = it->value().is_null() ? c.erase(it) : std::next(it);
    HttpResponse reply = d.request("POST", "/v1/integrations", admin_json(), dump(body));
    EXPECT_TRUE(IsValidationError(reply, fields)) << reply.summary();
  };
  refused({{"provider", "nexmo"}}, {"config.provider"});
  refused({{"from", nullptr}}, {"config.from"});
  refused({{"body", "Hi {{answers.name"}}, {"config.body"});
  refused({{"to", "{{ }}"}}, {"config.to"});
  refused({{"callback_timeout_s", 0}}, {"config.callback_timeout_s"});
}

TEST_F(SmsTest, AnAppsEventsSendWithTheEventAlias) {
  DaisyProcess& d = start_server();
  App app = make_app(d, "shop");
  json::object body =
      sms_body("", json::object{{"to", "{{event.data.phone}}"},
                                {"body", "Paid {{ data.amount }} for {{event.name}} ({{data.note|no note}})"}});
  body["source"] = json::object{{"app_id", app.id}};
  HttpResponse r = d.request("POST", "/v1/integrations", admin_json(), dump(body));
  ASSERT_EQ(r.status, 201) << r.summary();
  json::object event{{"session_id", "0190c7a2-5b1e-7c3d-9f00-2a1b3c4d5e6f"},
                     {"category", "checkout"},
                     {"name", "paid"},
                     {"data", json::object{{"amount", 42.5}, {"phone", "+15551234567"}}},
                     {"timestamp", "2024-03-08T20:15:00Z"}};
  r = d.request("POST", "/v1/events", token_json(app.token), dump(event));
  ASSERT_EQ(r.status, 202) << r.summary();
  json::value reply = r.json();
  const auto& actions = arr(reply, "actions");
  ASSERT_EQ(actions.size(), 1u) << r.summary();
  wait_sent(d, str(actions[0], "job_id"));
  ASSERT_EQ(twilio_.messages().size(), 1u);
  EXPECT_EQ(twilio_.messages().front().body, "Paid 42.5 for paid (no note)");
}

}  // namespace
}  // namespace daisy_e2e
