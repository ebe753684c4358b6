// Script actions and transforms end to end: a sync script's output in the
// submit reply (the slang lookup on ctx.data), async scripts as jobs (their
// output, their ctx.log lines in the attempt), ctx.http.request to an
// allowed host (a local FakeProvider) and refused elsewhere, budgets that
// fail a run with a clear reason, compile errors as 422s with the line, the
// /test route, and webhook transforms that reshape or skip. Each test runs
// its own server with --allow-private-targets (the receivers are on
// 127.0.0.1).
#include <boost/json.hpp>
#include <string>

#include "fake_provider.h"
#include "harness.h"
#include "suite_support.h"

namespace daisy_e2e {
namespace {

using namespace fx;
using daisy::e2e::FakeProvider;
using Reply = FakeProvider::Reply;

constexpr std::string_view kSlangForm = R"({"title":"greetings","questions":[
  {"key":"city","type":"text"},{"key":"word","type":"text"}]})";

// Looks the answer up by the city given in another answer.
constexpr std::string_view kSlangCode = R"(
function run(record, ctx)
  local city = ctx.data[record.answers.city]
  local slang = city and city[record.answers.word]
  ctx.log("looked up", record.answers.word, "in", record.answers.city)
  return {slang = slang or record.answers.word, found = slang ~= nil}
end
)";

constexpr std::string_view kSlangData = R"({"london":{"hello":"wotcha","friend":"mate"},
  "sydney":{"hello":"g'day","afternoon":"arvo"}})";

class ScriptTest : public OwnedServers {
 protected:
  void SetUp() override {
    DaisyProcess::Options o;
    o.args = {"--allow-private-targets"};
    server_ = &make(std::move(o));
    ASSERT_TRUE(server_->start()) << server_->start_error();
    form_id_ = create_form_id(*server_, J(kSlangForm));
  }

  DaisyProcess& server() { return *server_; }

  HttpResponse create(const json::value& body) {
    return server().request("POST", "/v1/integrations", admin_json(), dump(body));
  }

  std::string create_id(const json::value& body) {
    HttpResponse r = create(body);
    EXPECT_EQ(r.status, 201) << r.summary();
    return r.status == 201 ? str(r.json(), "id") : std::string();
  }

  json::object script_on_form(std::string_view mode, std::string_view code, json::object config = {}) {
    config["code"] = code;
    return json::object{{"name", "script"},
                        {"source", json::object{{"form_id", form_id_}}},
                        {"type", "script"},
                        {"mode", mode},
                        {"config", std::move(config)},
                        {"retry", json::object{{"schedule_s", J("[0,1]")}}}};
  }

  json::value submit_answers(std::string_view answers) {
    HttpResponse r = submit(server(), form_id_, J(answers));
    EXPECT_EQ(r.status, 201) << r.summary();
    return r.json();
  }

  json::value wait_job(const std::string& id, std::string_view status) {
    json::value last;
    eventually(
        [&] {
          HttpResponse r = server().get("/v1/jobs/" + id, server().admin());
          if (r.status == 200) last = r.json();
          return str(last, "status") == status;
        },
        20s);
    return last;
  }

  // Sync runs handed to the sync script runners (the others ran on the I/O thread).
  double sync_runner_runs() {
    auto v = metric_value(server().get("/metrics").body, "daisy_sync_script_runner_runs_total");
    EXPECT_TRUE(v.has_value());
    return v.value_or(-1);
  }

  DaisyProcess* server_ = nullptr;
  std::string form_id_;
};

TEST_F(ScriptTest, ASyncScriptLooksUpSlangAndAnswersInTheSubmitReply) {
  json::object config{{"data", J(kSlangData)}};
  create_id(script_on_form("sync", kSlangCode, config));
  json::value reply = submit_answers(R"({"city":"sydney","word":"afternoon"})");
  ASSERT_EQ(arr(reply, "actions").size(), 1u) << dump(reply);
  const json::value& action = arr(reply, "actions")[0];
  EXPECT_EQ(str(action, "mode"), "sync");
  EXPECT_EQ(str(action, "status"), "succeeded") << dump(action);
  EXPECT_EQ(at(action, "output"), J(R"({"slang":"arvo","found":true})"));
  // A word the table does not have comes back as it was.
  reply = submit_answers(R"({"city":"london","word":"goodbye"})");
  EXPECT_EQ(at(arr(reply, "actions")[0], "output"), J(R"({"slang":"goodbye","found":false})"));
  // A lookup this short runs where the submission is handled, without a hand-over.
  EXPECT_EQ(sync_runner_runs(), 0);
}

TEST_F(ScriptTest, AnAsyncScriptsOutputAndLogAreTheJobs) {
  json::object config{{"data", J(kSlangData)}};
  create_id(script_on_form("async", kSlangCode, config));
  json::value reply = submit_answers(R"({"city":"london","word":"friend"})");
  std::string job_id = str(arr(reply, "actions")[0], "job_id");
  json::value job = wait_job(job_id, "succeeded");
  ASSERT_EQ(str(job, "status"), "succeeded") << dump(job);
  EXPECT_EQ(at(job, "output"), J(R"({"slang":"mate","found":true})"));
  const auto& attempts = arr(job, "attempts_log");
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(at(attempts[0], "log"), J(R"(["looked up friend in london"])"));
}

TEST_F(ScriptTest, ScriptsRunOnAnAppsEventsToo) {
  App app = make_app(server(), "shop");
  json::object body{{"name", "events"},
                    {"source", json::object{{"app_id", app.id}}},
                    {"type", "script"},
                    {"config", json::object{{"code", R"(function run(event, ctx)
  return {name = event.name, n = event.data.n + 1, trigger = ctx.trigger}
end)"}}}};
  create_id(body);
  std::string event = R"({"session_id":"0193a1b2-c3d4-7000-8000-123456789abc","category":"ui","name":"click",)"
                      R"("data":{"n":41},"timestamp":"2026-01-01T10:00:00Z"})";
  HttpResponse r = server().request("POST", "/v1/events", token_json(app.token), event);
  ASSERT_EQ(r.status, 202) << r.summary();
  ASSERT_EQ(arr(r.json(), "actions").size(), 1u) << r.body;
  json::value job = wait_job(str(arr(r.json(), "actions")[0], "job_id"), "succeeded");
  EXPECT_EQ(at(job, "output"), J(R"({"name":"click","n":42,"trigger":"event.created"})")) << dump(job);
}

TEST_F(ScriptTest, ScriptsCallAllowedHostsOnlyThroughCtxHttp) {
  FakeProvider rates;
  rates.set("/rate", Reply{.status = 200, .body = R"({"eur":0.92})", .content_type = "application/json"});
  constexpr std::string_view code = R"(
function run(record, ctx)
  local r = ctx.http.request{url = ctx.data.url, headers = {["X-Asked-By"] = "daisy"}}
  return {status = r.status, rate = r.json.eur, type = r.headers["content-type"]}
end
)";
  json::object data{{"url", rates.url("/rate")}};
  json::object allowed{{"data", data}, {"allowed_hosts", J(R"(["127.0.0.1"])")}};
  create_id(script_on_form("sync", code, allowed));
  double runner_runs = sync_runner_runs();
  json::value reply = submit_answers(R"({"city":"x","word":"y"})");
  // An HTTP call never waits on an I/O thread: the run went to a runner.
  EXPECT_EQ(sync_runner_runs(), runner_runs + 1);
  const json::value& action = arr(reply, "actions")[0];
  EXPECT_EQ(at(action, "output"), J(R"({"status":200,"rate":0.92,"type":"application/json"})")) << dump(action);
  ASSERT_EQ(rates.count("/rate"), 1u);
  EXPECT_EQ(rates.requests("/rate")[0].header("X-Asked-By"), "daisy");

  // The same script where 127.0.0.1 is not allowed: refused before any request.
  json::object refused{{"data", data}, {"allowed_hosts", J(R"(["api.example.org"])")}};
  json::object body = script_on_form("async", code, refused);
  create_id(body);
  reply = submit_answers(R"({"city":"x","word":"z"})");
  std::string job_id;
  for (const auto& a : arr(reply, "actions")) {
    if (str(a, "mode") == "async") job_id = str(a, "job_id");
  }
  json::value job = wait_job(job_id, "dead");
  ASSERT_EQ(str(job, "status"), "dead") << dump(job);
  EXPECT_NE(str(arr(job, "attempts_log")[0], "error").find("127.0.0.1 is not in the integration's allowed_hosts"),
            std::string::npos)
      << dump(job);
  EXPECT_EQ(rates.count("/rate"), 2u) << "the sync script ran again for the second submission, the refused one did not";
}

TEST_F(ScriptTest, ABudgetThatRunsOutFailsTheRunWithItsReason) {
  struct Case {
    std::string_view code, reason;
  };
  const Case cases[] = {
      {"function run(r, ctx) while true do end end", "exceeded its instruction budget"},
      {"function run(r, ctx) local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end end",
       "exceeded its memory limit"},
      {"function run(r, ctx) local x = nil; return x.y end", "script:1: attempt to index a nil value"},
      {"function run(r, ctx) return function() end end", "run returned a function"},
  };
  for (const Case& c : cases) {
    json::object config{{"max_instructions", 100000}, {"max_memory_mb", 4}};
    std::string id = create_id(script_on_form("sync", c.code, config));
    json::value reply = submit_answers(R"({"city":"x","word":"y"})");
    const json::value& action = arr(reply, "actions")[0];
    EXPECT_EQ(str(action, "status"), "failed") << c.code;
    EXPECT_NE(str(action, "error").find(c.reason), std::string::npos) << dump(action);
    ASSERT_EQ(server().request("DELETE", "/v1/integrations/" + id, server().admin()).status, 204);
  }
  // Async: the attempts follow the retry schedule, then the job is dead with the reason.
  create_id(script_on_form("async", cases[0].code, json::object{{"max_instructions", 100000}}));
  json::value reply = submit_answers(R"({"city":"x","word":"y"})");
  json::value job = wait_job(str(arr(reply, "actions")[0], "job_id"), "dead");
  ASSERT_EQ(arr(job, "attempts_log").size(), 2u) << dump(job);
  EXPECT_NE(str(arr(job, "attempts_log")[1], "error").find("instruction budget"), std::string::npos);
  // The server is still there for everyone else.
  EXPECT_EQ(server().get("/healthz").status, 200);
}

TEST_F(ScriptTest, CodeThatDoesNotCompileIsRefusedWithItsLine) {
  HttpResponse r = create(script_on_form("async", "function run(record, ctx)\n  return {\nend\n"));
  ASSERT_TRUE(IsValidationError(r, {"config.code"}));
  EXPECT_NE(error_message(r, "config.code")->find("script:3:"), std::string::npos) << r.body;
  r = create(script_on_form("async", "function handle(record) end"));
  ASSERT_TRUE(IsValidationError(r, {"config.code"}));
  EXPECT_NE(error_message(r, "config.code")->find("does not define function run"), std::string::npos) << r.body;
  json::object bad_data{{"data", "not a table"}, {"allowed_hosts", J(R"(["https://x.org/"])")}};
  r = create(script_on_form("async", kSlangCode, bad_data));
  EXPECT_TRUE(IsValidationError(r, {"config.data", "config.allowed_hosts[0]"}));
}

TEST_F(ScriptTest, TheTestRouteRunsAScriptWithoutStoringAnything) {
  json::object config{{"data", J(kSlangData)}};
  std::string id = create_id(script_on_form("async", kSlangCode, config));
  HttpResponse r = server().request("POST", "/v1/integrations/" + id + "/test", admin_json(),
                                    R"({"record":{"answers":{"city":"sydney","word":"hello"}}})");
  ASSERT_EQ(r.status, 200) << r.summary();
  json::value out = r.json();
  EXPECT_EQ(at(out, "ok"), json::value(true));
  EXPECT_EQ(at(out, "output"), J(R"({"slang":"g'day","found":true})"));
  EXPECT_EQ(at(out, "logs"), J(R"(["looked up hello in sydney"])"));
  EXPECT_GT(num(at(out, "cost"), "memory_bytes"), 0);
  HttpResponse jobs = server().get("/v1/jobs?integration_id=" + id, server().admin());
  ASSERT_EQ(jobs.status, 200);
  EXPECT_TRUE(arr(jobs.json(), "items").empty()) << jobs.body;
  // A failing run is still a 200: its error is what the author needs.
  r = server().request("POST", "/v1/integrations/" + id + "/test", admin_json(), R"({"record":{}})");
  ASSERT_EQ(r.status, 200) << r.summary();
  EXPECT_EQ(at(r.json(), "ok"), json::value(false));
  EXPECT_NE(str(r.json(), "error").find("script:3:"), std::string::npos) << r.body;
  r = server().request("POST", "/v1/integrations/" + id + "/test", admin_json(), R"({"rec":{}})");
  EXPECT_TRUE(IsValidationError(r, {"rec", "record"}));
}

TEST_F(ScriptTest, AWebhookTransformReshapesThePayloadOrSkipsTheRecord) {
  FakeProvider receiver;
  receiver.set("/hook", Reply{.status = 200, .body = "ok", .content_type = "text/plain"});
  constexpr std::string_view transform = R"(
function transform(payload, ctx)
  if payload.answers.word == "skip" then return nil end
  ctx.log("sending", payload.id)
  return {greeting = payload.answers.word, place = string.upper(payload.answers.city)}
end
)";
  json::object body{{"name", "hook"},
                    {"source", json::object{{"form_id", form_id_}}},
                    {"type", "webhook"},
                    {"config", json::object{{"url", receiver.url("/hook")}, {"transform", transform}}}};
  std::string id = create_id(body);
  json::value sent = submit_answers(R"({"city":"paris","word":"bonjour"})");
  json::value skipped = submit_answers(R"({"city":"paris","word":"skip"})");
  json::value job = wait_job(str(arr(sent, "actions")[0], "job_id"), "succeeded");
  ASSERT_EQ(str(job, "status"), "succeeded") << dump(job);
  EXPECT_EQ(at(arr(job, "attempts_log")[0], "log"), json::value(json::array{"sending " + str(sent, "id")}))
      << "the transform's log is the delivering attempt's";
  ASSERT_EQ(receiver.count("/hook"), 1u);
  json::value delivered = J(receiver.requests("/hook")[0].body);
  EXPECT_EQ(at(delivered, "data"), J(R"({"greeting":"bonjour","place":"PARIS"})"));
  json::value none = wait_job(str(arr(skipped, "actions")[0], "job_id"), "cancelled");
  ASSERT_EQ(str(none, "status"), "cancelled") << dump(none);
  EXPECT_EQ(str(arr(none, "attempts_log")[0], "outcome"), "skipped");
  EXPECT_EQ(receiver.count("/hook"), 1u) << "a skipped record is not sent";
  // /test shows what the transform makes of a record, and whether it skips it.
  HttpResponse r = server().request("POST", "/v1/integrations/" + id + "/test", admin_json(),
                                    R"({"record":{"id":"r1","answers":{"city":"rome","word":"ciao"}}})");
  ASSERT_EQ(r.status, 200) << r.summary();
  EXPECT_EQ(at(r.json(), "output"), J(R"({"greeting":"ciao","place":"ROME"})"));
  EXPECT_EQ(at(r.json(), "skipped"), json::value(false));
  EXPECT_EQ(at(r.json(), "logs"), J(R"(["sending r1"])"));
  // A transform that does not compile is a 422 naming config.transform.
  json::object broken = body;
  broken["config"].as_object()["transform"] = "function transform(p) return p";
  EXPECT_TRUE(IsValidationError(create(broken), {"config.transform"}));
}

}  // namespace
}  // namespace daisy_e2e
