// The Google Sheets action end to end, against FakeGoogle (a strict local
// server for Google's token endpoint and the Sheets API v4: it checks the
// JWT's RS256 signature and claims, the bearer token, the calls' query and
// bodies, and keeps the cells). Each test runs its own server with
// --allow-private-targets (the fake is on 127.0.0.1).
#include <boost/json.hpp>
#include <map>
#include <set>

#include "fake_google.h"
#include "harness.h"
#include "postgres_server.h"
#include "suite_support.h"

namespace daisy_e2e {
namespace {

using namespace fx;
using daisy::e2e::FakeGoogle;

constexpr std::string_view kForm = R"({"title":"survey","questions":[
  {"key":"name","type":"text","label":"Your name"},
  {"key":"age","type":"integer","label":"Age"},
  {"key":"ok","type":"boolean"},
  {"key":"tags","type":"multi_choice","options":["a","b","c"]}]})";

class SheetsTest : public OwnedServers {
 protected:
  DaisyProcess& start_server() {
    DaisyProcess::Options o;
    o.args = {"--allow-private-targets"};
    if (on_postgres()) o.args.insert(o.args.end(), {"--job-lease-ms", "5000"});
    DaisyProcess& d = make(std::move(o));
    EXPECT_TRUE(d.start()) << d.start_error();
    return d;
  }

  json::object sheets_body(const std::string& form_id, json::object config = {}) {
    config["spreadsheet_id"] = google_.spreadsheet_id();
    config["service_account"] = J(google_.service_account_json());
    config["api_base"] = google_.base_url();
    return json::object{{"name", "sheet"},
                        {"source", json::object{{"form_id", form_id}}},
                        {"on", J(R"(["response.created","response.updated"])")},
                        {"type", "sheets"},
                        {"config", std::move(config)},
                        {"retry", json::object{{"schedule_s", J("[0,1,1,1,1,1,1,1,1,1]")}}}};
  }

  std::string create_sheet(DaisyProcess& d, const std::string& form_id, json::object config = {}) {
    HttpResponse r = d.request("POST", "/v1/integrations", admin_json(), dump(sheets_body(form_id, std::move(config))));
    EXPECT_EQ(r.status, 201) << r.summary();
    return r.status == 201 ? str(r.json(), "id") : std::string();
  }

  // The response ids in the tab's first column (the header's response_id), row by row.
  std::vector<std::string> ids_in_tab(std::string_view tab = "Responses") const {
    std::vector<std::string> ids;
    auto cells = google_.cells(tab);
    for (std::size_t i = 1; i < cells.size(); ++i) {
      ids.push_back(!cells[i].empty() && cells[i][0].is_string() ? std::string(cells[i][0].as_string()) : "");
    }
    return ids;
  }

  static std::string job_of(const json::value& submitted) {
    const auto& actions = arr(submitted, "actions");
    return actions.empty() ? std::string() : str(actions[0], "job_id");
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

  void TearDown() override {
    if (HasFailure()) {
      std::string calls;
      for (const auto& c : google_.calls()) calls += c.kind + "=" + std::to_string(c.status) + " ";
      std::fprintf(stderr, "--- Google's calls: %s\n", calls.c_str());
    }
    OwnedServers::TearDown();
    EXPECT_TRUE(google_.errors().empty()) << "Daisy broke Google's protocol: " << google_.errors().front();
  }

  FakeGoogle google_;
};

TEST_F(SheetsTest, ADefinitionIsCheckedAndItsKeyIsNeverShown) {
  DaisyProcess& d = start_server();
  std::string form_id = create_form_id(d, J(kForm));
  json::object bad = sheets_body(form_id, json::object{{"columns", J(R"(["response_id","nope"])")}});
  bad["config"].as_object()["service_account"] = json::object{{"type", "authorized_user"}};
  HttpResponse r = d.request("POST", "/v1/integrations", admin_json(), dump(bad));
  EXPECT_TRUE(IsValidationError(r, {"config.service_account"})) << r.summary();

  json::value key = J(google_.service_account_json());
  key.as_object()["private_key"] = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n";
  bad = sheets_body(form_id, json::object{{"max_requests_per_minute", 0}});
  bad["config"].as_object()["service_account"] = key;
  r = d.request("POST", "/v1/integrations", admin_json(), dump(bad));
  EXPECT_TRUE(IsValidationError(r, {"config.service_account.private_key", "config.max_requests_per_minute"}))
      << r.summary();
  // Columns are checked against the form's questions.
  r = d.request("POST", "/v1/integrations", admin_json(),
                dump(sheets_body(form_id, json::object{{"columns", J(R"(["response_id","nope"])")}})));
  EXPECT_TRUE(IsValidationError(r, {"config.columns[1]"})) << r.summary();

  App app = make_app(d, "shop");
  json::object on_app = sheets_body(form_id);
  on_app["source"] = json::object{{"app_id", app.id}};
  on_app["on"] = J(R"(["event.created"])");
  r = d.request("POST", "/v1/integrations", admin_json(), dump(on_app));
  EXPECT_TRUE(HasFieldError(r, "source.form_id")) << r.summary();

  // The key pasted as the file's text is taken too; replies never show the private key.
  json::object as_text = sheets_body(form_id);
  as_text["config"].as_object()["service_account"] = google_.service_account_json();
  r = d.request("POST", "/v1/integrations", admin_json(), dump(as_text));
  ASSERT_EQ(r.status, 201) << r.summary();
  std::string id = str(r.json(), "id");
  for (const HttpResponse& shown :
       {r, d.get("/v1/integrations/" + id, d.admin()), d.get("/v1/integrations", d.admin())}) {
    EXPECT_EQ(shown.body.find("BEGIN PRIVATE KEY"), std::string::npos) << shown.body.substr(0, 2000);
  }
  json::value got = d.get("/v1/integrations/" + id, d.admin()).json();
  json::value account = at(at(got, "config"), "service_account");
  EXPECT_EQ(str(account, "private_key"), "***");
  EXPECT_EQ(str(account, "client_email"), google_.client_email());
  EXPECT_EQ(num(at(got, "config"), "max_requests_per_minute"), 60);
  EXPECT_EQ(str(at(got, "config"), "sheet"), "Responses");
  EXPECT_TRUE(at(got, "last_error").is_null()) << dump(got);
}

// 1000 submissions go in at most 5 appends (batch_max_rows 500, a second to
// gather), under a header made of the labels, each response once, numbers
// and booleans as such.
TEST_F(SheetsTest, ResponsesBecomeRowsInAFewBatchedAppends) {
  DaisyProcess& d = start_server();
  std::string form_id = create_form_id(d, J(kForm));
  std::string integration = create_sheet(d, form_id);
  auto ids = submit_many(
      d, form_id, 1000,
      [](std::size_t i) {
        return J(R"({"name":"=SUM(A1:A2) #)" + std::to_string(i) + R"(","age":)" + std::to_string(20 + i % 50) +
                 R"(,"ok":)" + (i % 2 ? "true" : "false") + R"(,"tags":["a","c"]})");
      },
      unique("sheet"));
  ASSERT_TRUE(eventually([&] { return ids_in_tab().size() >= 1000; }, 120s)) << ids_in_tab().size();
  auto cells = google_.cells("Responses");
  ASSERT_FALSE(cells.empty());
  std::vector<std::string> header;
  for (const auto& c : cells[0]) header.push_back(c.is_string() ? std::string(c.as_string()) : dump(c));
  EXPECT_EQ(header, (std::vector<std::string>{"response_id", "submitted_at", "status", "form_version", "app_id",
                                              "Your name", "Age", "ok", "tags"}));
  std::vector<std::string> in_tab = ids_in_tab();
  std::set<std::string> unique_ids(in_tab.begin(), in_tab.end());
  EXPECT_EQ(in_tab.size(), 1000u);
  EXPECT_EQ(unique_ids, std::set<std::string>(ids.begin(), ids.end()));
  EXPECT_LE(google_.count("append"), 5u);
  EXPECT_GE(google_.count("token"), 1u);
  // One row, checked cell by cell.
  for (std::size_t row = 1; row < cells.size(); ++row) {
    if (cells[row][0] != json::value(ids[7])) continue;
    ASSERT_GE(cells[row].size(), 9u);
    EXPECT_EQ(cells[row][2], json::value("accepted"));
    EXPECT_EQ(cells[row][3], json::value(1));                 // form_version
    EXPECT_EQ(cells[row][5], json::value("=SUM(A1:A2) #7"));  // RAW: text, never a formula
    EXPECT_EQ(cells[row][6], json::value(27));
    EXPECT_EQ(cells[row][7], json::value(true));
    EXPECT_EQ(cells[row][8], json::value("a;c"));
    // The job says where its row went; its attempt is the batch's.
    HttpResponse response = d.get(responses_path(form_id) + "/" + ids[7], d.admin());
    ASSERT_EQ(response.status, 200);
    HttpResponse jobs = d.get("/v1/jobs?source_id=" + ids[7], d.admin());
    ASSERT_EQ(jobs.status, 200) << jobs.summary();
    ASSERT_EQ(arr(jobs.json(), "items").size(), 1u) << jobs.body;
    json::value job = wait_job(d, str(arr(jobs.json(), "items")[0], "id"), "succeeded");
    EXPECT_EQ(at(job, "output"), J("{\"row\":" + std::to_string(row + 1) + "}")) << dump(job);
    EXPECT_EQ(arr(job, "attempts_log").size(), 1u) << dump(job);  // one request, one attempt
  }
  // Google keeps the rows before it answers; Daisy counts them once it has the answer.
  std::string metrics;
  EXPECT_TRUE(eventually([&] {
    metrics = d.get("/metrics").body;
    return metric_value(metrics, "daisy_sheets_rows_written_total") == 1000.0;
  })) << metrics;
  EXPECT_EQ(metric_value(metrics, R"(daisy_sheets_requests_total{call="append"})"),
            static_cast<double>(google_.count("append")));
  (void)integration;
}

// A correction rewrites its row in place; a new question adds its column at
// the right; columns of removed questions stay.
TEST_F(SheetsTest, ACorrectionRewritesItsRowAndANewQuestionAddsAColumn) {
  DaisyProcess& d = start_server();
  std::string form_id = create_form_id(d, J(kForm));
  create_sheet(d, form_id, json::object{{"batch_max_ms", 0}});
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = submit(d, form_id, J(R"({"name":"n)" + std::to_string(i) + R"(","age":30})"));
    ASSERT_EQ(r.status, 201) << r.summary();
    ids.push_back(str(r.json(), "id"));
    wait_job(d, job_of(r.json()), "succeeded");
  }
  HttpResponse fixed = correct(d, form_id, ids[1], J(R"({"name":"fixed","age":31})"));
  ASSERT_EQ(fixed.status, 200) << fixed.summary();
  ASSERT_TRUE(eventually([&] {
    auto cells = google_.cells("Responses");
    return cells.size() == 4 && cells[2].size() > 6 && cells[2][5] == json::value("fixed");
  })) << dump(json::value_from(google_.cells("Responses")));
  auto cells = google_.cells("Responses");
  EXPECT_EQ(cells[2][0], json::value(ids[1]));
  EXPECT_EQ(cells[2][6], json::value(31));
  EXPECT_EQ(cells[1][5], json::value("n0"));
  EXPECT_EQ(ids_in_tab().size(), 3u);

  const std::string questions = "/v1/forms/" + form_id + "/questions";
  ASSERT_EQ(d.request("DELETE", questions + "/ok", d.admin()).status, 200);
  ASSERT_EQ(d.request("POST", questions, admin_json(), R"({"key":"city","type":"text","label":"City"})").status, 201);
  HttpResponse r = submit(d, form_id, J(R"({"name":"later","city":"Lyon"})"));
  ASSERT_EQ(r.status, 201) << r.summary();
  wait_job(d, job_of(r.json()), "succeeded");
  cells = google_.cells("Responses");
  ASSERT_EQ(cells.size(), 5u);
  std::vector<json::value> header(cells[0].begin(), cells[0].end());
  EXPECT_EQ(
      json::value_from(header),
      J(R"(["response_id","submitted_at","status","form_version","app_id","Your name","Age","ok","tags","City"])"));
  EXPECT_EQ(cells[4][5], json::value("later"));
  EXPECT_EQ(cells[4][9], json::value("Lyon"));
}

// 429s delay the rows, with Google's backoff, and lose or repeat none; a 500
// and an expired token likewise.
TEST_F(SheetsTest, QuotaErrorsAnExpiredTokenAndA500DelayButLoseNothing) {
  DaisyProcess& d = start_server();
  std::string form_id = create_form_id(d, J(kForm));
  std::string integration = create_sheet(d, form_id, json::object{{"batch_max_ms", 200}});
  HttpResponse first = submit(d, form_id, J(R"({"name":"first"})"));
  wait_job(d, job_of(first.json()), "succeeded");
  google_.fail_next("append", 429, 3);
  std::vector<std::string> ids{str(first.json(), "id")};
  for (int i = 0; i < 20; ++i) {
    HttpResponse r = submit(d, form_id, J(R"({"name":"storm"})"));
    ASSERT_EQ(r.status, 201) << r.summary();
    ids.push_back(str(r.json(), "id"));
  }
  ASSERT_TRUE(eventually([&] { return ids_in_tab().size() >= ids.size(); }, 60s)) << ids_in_tab().size();
  auto each_once = [&] {
    std::vector<std::string> in_tab = ids_in_tab();
    EXPECT_EQ(in_tab.size(), ids.size());
    EXPECT_EQ(std::set<std::string>(in_tab.begin(), in_tab.end()), std::set<std::string>(ids.begin(), ids.end()));
  };
  each_once();
  std::string metrics = d.get("/metrics").body;
  EXPECT_EQ(metric_value(metrics, "daisy_sheets_quota_errors_total"), 3.0) << metrics;

  google_.expire_tokens();
  google_.fail_next("append", 500);
  std::size_t tokens = google_.count("token");
  HttpResponse after = submit(d, form_id, J(R"({"name":"after"})"));
  json::value job = wait_job(d, job_of(after.json()), "succeeded", 60s);
  EXPECT_EQ(google_.count("token"), tokens + 1);
  ids.push_back(str(after.json(), "id"));
  each_once();
  EXPECT_EQ(arr(job, "attempts_log").size(), 2u) << dump(job);  // the 500, then the append
}

// A sheet not shared with the service account: the jobs fail with a message
// naming the email to share it with, the integration reports it, and the
// retries follow the schedule instead of a storm.
TEST_F(SheetsTest, ASheetNotSharedFailsSayingWhoToShareItWith) {
  DaisyProcess& d = start_server();
  std::string form_id = create_form_id(d, J(kForm));
  json::object body = sheets_body(form_id);
  body["retry"] = json::object{{"schedule_s", J("[0,30,60]")}};
  HttpResponse created = d.request("POST", "/v1/integrations", admin_json(), dump(body));
  ASSERT_EQ(created.status, 201) << created.summary();
  std::string integration = str(created.json(), "id");
  google_.set_shared(false);
  std::vector<std::string> jobs;
  for (int i = 0; i < 5; ++i) {
    HttpResponse x = submit(d, form_id, J(R"({"name":"x"})"));
    ASSERT_EQ(x.status, 201) << x.summary();
    jobs.push_back(job_of(x.json()));
  }
  HttpResponse r = submit(d, form_id, J(R"({"name":"y"})"));
  jobs.push_back(job_of(r.json()));
  json::value job = wait_job(d, jobs.back(), "failed");
  EXPECT_NE(str(job, "last_error").find(google_.client_email()), std::string::npos) << dump(job);
  json::value shown = d.get("/v1/integrations/" + integration, d.admin()).json();
  EXPECT_NE(str(shown, "last_error").find("share it with " + google_.client_email()), std::string::npos) << dump(shown);
  std::this_thread::sleep_for(2s);
  // No retry storm: each job made its one attempt (the next is 30 s away),
  // and Google was called at most once per batch. How many batches the six
  // rows formed depends on the machine's speed (a batch waits up to 1 s for rows).
  for (const std::string& id : jobs) {
    json::value waiting = wait_job(d, id, "failed");
    EXPECT_EQ(at(waiting, "attempts").as_int64(), 1) << dump(waiting);
  }
  std::size_t calls = google_.calls().size() - google_.count("token");
  EXPECT_GE(calls, 1u);
  EXPECT_LE(calls, jobs.size()) << "a retry storm against a sheet that is not shared";
  EXPECT_TRUE(ids_in_tab().empty());
  // The error is stored: it outlives a restart, and a delivery that
  // succeeds clears it.
  d.stop();
  ASSERT_TRUE(d.start()) << d.start_error();
  EXPECT_EQ(str(d.get("/v1/integrations/" + integration, d.admin()).json(), "last_error"), str(shown, "last_error"));
  google_.set_shared(true);
  HttpResponse later = submit(d, form_id, J(R"({"name":"z"})"));
  wait_job(d, job_of(later.json()), "succeeded");
  EXPECT_TRUE(at(d.get("/v1/integrations/" + integration, d.admin()).json(), "last_error").is_null());
}

// kill -9 after Google wrote the rows but before Daisy heard so: after the
// restart the tab's ids are read and no row is written twice or missed.
TEST_F(SheetsTest, KillNineDuringAnAppendLosesAndRepeatsNoRow) {
  DaisyProcess& d = start_server();
  std::string form_id = create_form_id(d, J(kForm));
  create_sheet(d, form_id, json::object{{"batch_max_ms", 300}});
  HttpResponse first = submit(d, form_id, J(R"({"name":"before"})"));
  wait_job(d, job_of(first.json()), "succeeded");
  google_.set_reply_delay("append", 30s);
  std::vector<std::string> ids{str(first.json(), "id")};
  std::vector<std::string> jobs;
  for (int i = 0; i < 10; ++i) {
    HttpResponse r = submit(d, form_id, J(R"({"name":"during"})"));
    ASSERT_EQ(r.status, 201) << r.summary();
    ids.push_back(str(r.json(), "id"));
    jobs.push_back(job_of(r.json()));
  }
  ASSERT_TRUE(eventually([&] { return ids_in_tab().size() >= 2; }, 20s));
  std::size_t appended_before_kill = ids_in_tab().size();
  d.kill9();
  google_.set_reply_delay("append", 0ms);
  google_.release_hangs();
  ASSERT_TRUE(d.start()) << d.start_error();
  for (const auto& job : jobs) wait_job(d, job, "succeeded", 60s);
  std::vector<std::string> in_tab = ids_in_tab();
  EXPECT_EQ(std::set<std::string>(in_tab.begin(), in_tab.end()), std::set<std::string>(ids.begin(), ids.end()));
  EXPECT_EQ(in_tab.size(), ids.size()) << "a row was written twice";
  EXPECT_GE(appended_before_kill, 2u);
  EXPECT_GE(metric_value(d.get("/metrics").body, "daisy_sheets_id_checks_total").value_or(0), 1.0);
}

// A tab starts with 26 columns: a wider header first adds the columns it needs.
TEST_F(SheetsTest, AFormWiderThanANewTabGetsColumnsAdded) {
  DaisyProcess& d = start_server();
  json::array questions;
  for (int i = 0; i < 30; ++i) questions.push_back(json::object{{"key", "q" + std::to_string(i)}, {"type", "integer"}});
  std::string form_id = create_form_id(d, json::object{{"title", "wide"}, {"questions", questions}});
  create_sheet(d, form_id, json::object{{"batch_max_ms", 0}});
  HttpResponse r = submit(d, form_id, J(R"({"q29":29})"));
  ASSERT_EQ(r.status, 201) << r.summary();
  wait_job(d, job_of(r.json()), "succeeded");
  auto cells = google_.cells("Responses");
  ASSERT_EQ(cells.size(), 2u);
  ASSERT_EQ(cells[0].size(), 35u);
  EXPECT_EQ(cells[0][34], json::value("q29"));
  ASSERT_EQ(cells[1].size(), 35u);
  EXPECT_EQ(cells[1][34], json::value(29));
}

// A replay fills the tab with past responses; a second replay writes none twice.
TEST_F(SheetsTest, AReplayFillsTheSheetOnce) {
  DaisyProcess& d = start_server();
  std::string form_id = create_form_id(d, J(kForm));
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.insert(str(submit(d, form_id, J(R"({"name":"past"})")).json(), "id"));
  // The columns leave response_id out: a hidden id column keeps rows findable.
  std::string integration =
      create_sheet(d, form_id, json::object{{"columns", J(R"(["name","age"])")}, {"batch_max_ms", 100}});
  std::this_thread::sleep_for(1100ms);  // the jobs are made well after their responses
  const std::string path = "/v1/integrations/" + integration + "/replay";
  const std::string range = R"({"since":"2020-01-01T00:00:00Z","until":"2099-01-01T00:00:00Z"})";
  for (int round = 0; round < 2; ++round) {
    HttpResponse r = d.request("POST", path, admin_json(), range);
    ASSERT_EQ(r.status, 202) << r.summary();
    EXPECT_EQ(num(r.json(), "jobs"), 5);
    ASSERT_TRUE(eventually(
        [&] {
          HttpResponse jobs =
              d.get("/v1/jobs?status=succeeded&integration_id=" + integration + "&limit=100", d.admin());
          return jobs.status == 200 && arr(jobs.json(), "items").size() == 5u * (round + 1);
        },
        30s));
  }
  auto cells = google_.cells("Responses");
  ASSERT_EQ(cells.size(), 6u);
  EXPECT_EQ(json::value_from(std::vector<json::value>(cells[0].begin(), cells[0].end())),
            J(R"(["Your name","Age","response_id"])"));
  std::set<std::string> in_tab;
  for (std::size_t i = 1; i < cells.size(); ++i) in_tab.insert(std::string(cells[i][2].as_string()));
  EXPECT_EQ(in_tab, ids);
  EXPECT_EQ(google_.hidden_columns("Responses"), std::vector<std::size_t>{2});
}

TEST_F(SheetsTest, AReplayBesideTheOriginalJobsInOneBatchWritesEachRowOnce) {
  DaisyProcess& d = start_server();
  std::string form_id = create_form_id(d, J(kForm));
  // The batch leaves when its sixth row is due (or after a minute): the
  // submissions' three jobs and the replay's three go in one request.
  std::string integration = create_sheet(d, form_id, json::object{{"batch_max_rows", 6}, {"batch_max_ms", 60000}});
  std::set<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.insert(str(submit(d, form_id, J(R"({"name":"twice"})")).json(), "id"));
  HttpResponse r = d.request("POST", "/v1/integrations/" + integration + "/replay", admin_json(),
                             R"({"since":"2020-01-01T00:00:00Z","until":"2099-01-01T00:00:00Z"})");
  ASSERT_EQ(r.status, 202) << r.summary();
  EXPECT_EQ(num(r.json(), "jobs"), 3);
  ASSERT_TRUE(eventually(
      [&] {
        HttpResponse jobs = d.get("/v1/jobs?status=succeeded&integration_id=" + integration + "&limit=100", d.admin());
        return jobs.status == 200 && arr(jobs.json(), "items").size() == 6u;
      },
      90s));
  auto cells = google_.cells("Responses");
  ASSERT_EQ(cells.size(), 4u);  // the header and one row per response
  std::set<std::string> in_tab;
  for (std::size_t i = 1; i < cells.size(); ++i) in_tab.insert(std::string(cells[i][0].as_string()));
  EXPECT_EQ(in_tab, ids);
  EXPECT_EQ(google_.count("append"), 1u);  // one batch
}

// A spreadsheet id Google does not know: the jobs fail saying so, and the
// integration reports it.
TEST_F(SheetsTest, AnUnknownSpreadsheetFailsSayingSo) {
  DaisyProcess& d = start_server();
  std::string form_id = create_form_id(d, J(kForm));
  json::object body = sheets_body(form_id);
  body["config"].as_object()["spreadsheet_id"] = "1NoSuchSpreadsheet000";
  body["retry"] = json::object{{"schedule_s", J("[0,30,60]")}};
  HttpResponse created = d.request("POST", "/v1/integrations", admin_json(), dump(body));
  ASSERT_EQ(created.status, 201) << created.summary();
  HttpResponse r = submit(d, form_id, J(R"({"name":"y"})"));
  json::value job = wait_job(d, job_of(r.json()), "failed");
  EXPECT_NE(str(job, "last_error").find("Google has no spreadsheet 1NoSuchSpreadsheet000"), std::string::npos)
      << dump(job);
  json::value shown = d.get("/v1/integrations/" + str(created.json(), "id"), d.admin()).json();
  EXPECT_NE(str(shown, "last_error").find("check config.spreadsheet_id"), std::string::npos) << dump(shown);
  EXPECT_TRUE(google_.cells("Responses").empty());
}

// Rows of long answers: a request stops short of Google's advised 2 MB, so
// 60 rows of 40,000 characters (2.4 MB) go in two appends or more.
TEST_F(SheetsTest, ABatchStopsShortOfTwoMegabytes) {
  DaisyProcess& d = start_server();
  std::string form_id = create_form_id(d, J(kForm));
  // The batch is taken when its 60 rows are due; what it leaves goes within 15 s.
  create_sheet(d, form_id, json::object{{"batch_max_rows", 60}, {"batch_max_ms", 15000}});
  const std::string long_name(40000, 'x');
  auto ids = submit_many(
      d, form_id, 60,
      [&](std::size_t) {
        return json::value(json::object{{"name", long_name}});
      },
      unique("long"));
  ASSERT_TRUE(eventually([&] { return ids_in_tab().size() >= 60; }, 90s)) << ids_in_tab().size();
  std::vector<std::string> in_tab = ids_in_tab();
  EXPECT_EQ(in_tab.size(), 60u);
  EXPECT_EQ(std::set<std::string>(in_tab.begin(), in_tab.end()), std::set<std::string>(ids.begin(), ids.end()));
  std::size_t appends = 0;
  for (const auto& call : google_.calls()) {
    if (call.kind != "append") continue;
    ++appends;
    EXPECT_LE(call.body_bytes, 2'000'000u);
    EXPECT_GT(call.rows, 0u);
  }
  EXPECT_GE(appends, 2u);
}

// Requests keep to the integration's pace (max_requests_per_minute: 120, a
// turn each half second), and /metrics counts the requests that waited.
TEST_F(SheetsTest, RequestsKeepToTheIntegrationsPace) {
  DaisyProcess& d = start_server();
  std::string form_id = create_form_id(d, J(kForm));
  create_sheet(d, form_id, json::object{{"max_requests_per_minute", 120}, {"batch_max_rows", 1}, {"batch_max_ms", 0}});
  for (int i = 0; i < 4; ++i) ASSERT_EQ(submit(d, form_id, J(R"({"name":"paced"})")).status, 201);
  ASSERT_TRUE(eventually([&] { return ids_in_tab().size() >= 4; }, 60s)) << ids_in_tab().size();
  std::vector<std::chrono::steady_clock::time_point> sent;
  for (const auto& call : google_.calls()) {
    if (call.kind != "token") sent.push_back(call.at);
  }
  ASSERT_GE(sent.size(), 5u);  // the tab, its header, four appends
  // A request reaches Google at or after its turn (a token fetch or a new
  // connection may delay it by up to 250 ms), so n requests span at least
  // (n - 1) turns less that delay.
  auto span = std::chrono::duration_cast<std::chrono::milliseconds>(sent.back() - sent.front());
  EXPECT_GE(span.count(), static_cast<long>(sent.size() - 1) * 500 - 250) << sent.size() << " requests";
  EXPECT_GE(metric_value(d.get("/metrics").body, "daisy_sheets_quota_waits_total"), 1.0);
}

}  // namespace
}  // namespace daisy_e2e
