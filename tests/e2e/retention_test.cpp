// Retention: events, responses and ended jobs older than their days are
// deleted in the background, with what belongs to them, and nothing else is.
// The data is aged in the database while the server is stopped (a test
// cannot wait 30 days); the server then runs its passes as it would.
#include <boost/json.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "harness.h"
#include "postgres_server.h"
#include "suite_support.h"

namespace daisy_e2e {
namespace {

using namespace fx;

constexpr const char* kOldSession = "0193a1b2-c3d4-7000-8000-0000000000a1";
constexpr const char* kNewSession = "0193a1b2-c3d4-7000-8000-0000000000b2";
constexpr const char* kLongAgo = "2020-01-01T00:00:00.000Z";

class RetentionTest : public OwnedServers {};

// Runs SQL on the server's database (stopped): sqlite3 on the data dir's
// file, or libpq on its PostgreSQL database.
::testing::AssertionResult run_sql(const DaisyProcess& d, const std::string& sql) {
  if (on_postgres()) {
    std::string error;
    if (!exec_sql(d.database(), sql, error)) return ::testing::AssertionFailure() << error;
    return ::testing::AssertionSuccess();
  }
  RunResult r = run_process({"/usr/bin/sqlite3", d.data_dir() + "/daisy.db", sql});
  if (!r.status.exited || r.status.code != 0) return ::testing::AssertionFailure() << r.status.describe() << r.err;
  return ::testing::AssertionSuccess();
}

// One number a query on the stopped server's SQLite database answers (-1
// when it fails).
long sqlite_count(const DaisyProcess& d, const std::string& sql) {
  RunResult r = run_process({"/usr/bin/sqlite3", d.data_dir() + "/daisy.db", sql});
  if (!r.status.exited || r.status.code != 0 || r.out.empty()) return -1;
  return std::stol(r.out);
}

std::string event_id(char kind, int i) {
  char id[40];
  std::snprintf(id, sizeof id, "0193a1b2-c3d4-7000-8000-%c%011d", kind, i);
  return id;
}

HttpResponse send_event(const DaisyProcess& d, const App& app, const std::string& id, const char* session) {
  std::string body = R"({"id":")" + id + R"(","session_id":")" + session +
                     R"(","category":"ui","name":"click","timestamp":"2026-01-01T10:00:00Z","data":{}})";
  return d.request("POST", "/v1/events", token_json(app.token), body);
}

std::size_t events_of(const DaisyProcess& d, const char* session) {
  return read_all_pages(d, "/v1/events", d.admin(), std::string("session_id=") + session, 100).size();
}

// The jobs a response made (reading them files them on SQLite).
std::vector<std::string> jobs_of(const DaisyProcess& d, const std::string& response_id) {
  return ids_of(read_all_pages(d, "/v1/jobs", d.admin(), "source_id=" + response_id, 100));
}

std::string in_list(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "'" : ", '") + id + "'";
  return "(" + out + ")";
}

double metric(const DaisyProcess& d, std::string_view series) {
  return metric_value(d.get("/metrics").body, series).value_or(-1);
}

TEST_F(RetentionTest, RecordsOlderThanTheirDaysGoWithWhatBelongsToThemAndTheRestStays) {
  DaisyProcess& d = make();
  ASSERT_TRUE(d.start()) << d.start_error();
  App app = make_app(d, "retained");
  for (int i = 0; i < 20; ++i) ASSERT_EQ(send_event(d, app, event_id('a', i), kOldSession).status, 202);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(send_event(d, app, event_id('b', i), kNewSession).status, 202);

  std::string form_id = create_form_id(d, J(R"({"title":"t","questions":[{"key":"n","type":"integer"}]})"));
  ASSERT_FALSE(form_id.empty());
  json::object hook{{"name", "hook"},
                    {"source", json::object{{"form_id", form_id}}},
                    {"type", "webhook"},
                    {"config", json::object{{"url", "http://127.0.0.1:9/hook"}}}};
  ASSERT_EQ(d.request("POST", "/v1/integrations", admin_json(), dump(hook)).status, 201);
  auto submit_id = [&](int n, const std::string& key) {
    HttpResponse r = submit(d, form_id, json::object{{"n", n}}, {{"Idempotency-Key", key}});
    EXPECT_EQ(r.status, 201) << r.summary();
    return str(r.json(), "id");
  };
  std::vector<std::string> old_responses{submit_id(1, "old-0"), submit_id(2, "old-1"), submit_id(3, "old-2")};
  ASSERT_EQ(correct(d, form_id, old_responses[0], J(R"({"n":10})")).status, 200);
  std::string open_response = submit_id(4, "open");
  std::vector<std::string> new_responses{submit_id(5, "new-0"), submit_id(6, "new-1")};
  std::vector<std::string> old_jobs, new_jobs;
  for (const auto& id : old_responses) {
    for (auto& job : jobs_of(d, id)) old_jobs.push_back(job);
  }
  for (const auto& id : new_responses) {
    for (auto& job : jobs_of(d, id)) new_jobs.push_back(job);
  }
  std::vector<std::string> open_jobs = jobs_of(d, open_response);
  ASSERT_EQ(old_jobs.size(), 3u);  // one per submission (a webhook is not told of corrections by default)
  ASSERT_EQ(new_jobs.size(), 2u);
  ASSERT_EQ(open_jobs.size(), 1u);
  ASSERT_EQ(d.stop().code, 0);

  // Forty days pass for the old session's events, the old responses and
  // every job but the open response's (still pending); the new responses'
  // jobs were cancelled long ago, but the responses are recent.
  std::vector<std::string> aged = old_responses;
  aged.push_back(open_response);
  ASSERT_TRUE(run_sql(d, std::string("UPDATE events SET received_at = received_at - 3456000000000000"
                                     " WHERE session_id = '") +
                             kOldSession + "';" + "UPDATE responses SET updated_at = '" + kLongAgo + "' WHERE id IN " +
                             in_list(aged) + ";" + "UPDATE jobs SET status = 'succeeded', created_at = '" + kLongAgo +
                             "', updated_at = '" + kLongAgo + "' WHERE source_id IN " + in_list(old_responses) + ";" +
                             "UPDATE jobs SET status = 'cancelled', created_at = '" + kLongAgo + "', updated_at = '" +
                             kLongAgo + "' WHERE source_id IN " + in_list(new_responses) + ";" +
                             "UPDATE jobs SET status = 'pending', due_ms = 4102444800000, created_at = '" + kLongAgo +
                             "', updated_at = '" + kLongAgo + "' WHERE source_id = '" + open_response + "';"));

  // By default only ended jobs go (after 30 days); events and responses stay.
  ASSERT_TRUE(d.start(DaisyProcess::Options{.args = {"--retention-interval", "1"}})) << d.start_error();
  ASSERT_TRUE(eventually([&] { return metric(d, "daisy_retention_last_pass_timestamp_seconds") > 0; }, 20s));
  EXPECT_EQ(metric(d, "daisy_retention_deleted_total{kind=\"jobs\"}"), 5);
  EXPECT_EQ(metric(d, "daisy_retention_deleted_total{kind=\"events\"}"), 0);
  EXPECT_EQ(metric(d, "daisy_retention_deleted_total{kind=\"responses\"}"), 0);
  for (const auto& job : old_jobs) EXPECT_EQ(d.get("/v1/jobs/" + job, d.admin()).status, 404) << job;
  for (const auto& job : new_jobs) EXPECT_EQ(d.get("/v1/jobs/" + job, d.admin()).status, 404) << job;
  EXPECT_EQ(d.get("/v1/jobs/" + open_jobs[0], d.admin()).status, 200);
  EXPECT_EQ(events_of(d, kOldSession), 20u);
  EXPECT_EQ(list_all_responses(d, form_id).size(), 6u);
  ASSERT_EQ(d.stop().code, 0);

  ASSERT_TRUE(d.start(DaisyProcess::Options{
      .args = {"--event-retention-days", "30", "--response-retention-days", "30", "--retention-interval", "1"}}))
      << d.start_error();
  ASSERT_TRUE(eventually(
      [&] {
        return metric(d, "daisy_retention_deleted_total{kind=\"events\"}") == 20 &&
               metric(d, "daisy_retention_deleted_total{kind=\"responses\"}") == 3;
      },
      30s))
      << d.get("/metrics").body;
  EXPECT_TRUE(d.wait_for_err("msg=\"retention pass\" kind=events deleted=20"));
  EXPECT_EQ(events_of(d, kOldSession), 0u);
  EXPECT_EQ(events_of(d, kNewSession), 5u);
  for (const auto& id : old_responses) {
    EXPECT_EQ(d.get(responses_path(form_id) + "/" + id, d.admin()).status, 404) << id;
  }
  // A response whose job is still open stays: the job delivers it.
  EXPECT_EQ(d.get(responses_path(form_id) + "/" + open_response, d.admin()).status, 200);
  EXPECT_EQ(d.get("/v1/jobs/" + open_jobs[0], d.admin()).status, 200);
  for (const auto& id : new_responses) EXPECT_EQ(d.get(responses_path(form_id) + "/" + id, d.admin()).status, 200);

  // A deleted event's client id and a deleted response's idempotency key are
  // free again: they make new records.
  ASSERT_EQ(send_event(d, app, event_id('a', 0), kOldSession).status, 202);
  EXPECT_EQ(events_of(d, kOldSession), 1u);
  ASSERT_EQ(send_event(d, app, event_id('b', 0), kNewSession).status, 202);
  EXPECT_EQ(events_of(d, kNewSession), 5u);  // not deleted, so still a repeat
  HttpResponse again = submit(d, form_id, J(R"({"n":1})"), {{"Idempotency-Key", "old-0"}});
  ASSERT_EQ(again.status, 201) << again.summary();
  EXPECT_FALSE(again.has_header("Idempotent-Replayed"));
  EXPECT_NE(str(again.json(), "id"), old_responses[0]);
  EXPECT_EQ(list_all_responses(d, form_id).size(), 4u);

  // Nothing is left behind of what was deleted: every index entry, client id,
  // revision and attempt belongs to a record still there. (The last event's
  // index entries may still be only in memory: they are rebuilt at start.)
  ASSERT_EQ(d.stop().code, 0);
  if (!on_postgres()) {
    ASSERT_EQ(sqlite_count(d, "SELECT count(*) FROM events"), 6);
    for (const char* index : {"event_idx_session", "event_idx_time", "event_idx_category", "event_idx_app"}) {
      EXPECT_EQ(
          sqlite_count(d, std::string("SELECT count(*) FROM ") + index + " WHERE seq NOT IN (SELECT seq FROM events)"),
          0)
          << index;
    }
    EXPECT_EQ(sqlite_count(d, "SELECT count(*) FROM event_client_ids WHERE id NOT IN (SELECT id FROM events)"), 0);
    EXPECT_EQ(sqlite_count(d, "SELECT count(*) FROM event_client_ids"), 6);
    EXPECT_EQ(sqlite_count(d,
                           "SELECT count(*) FROM response_revisions WHERE response_id NOT IN"
                           " (SELECT id FROM responses)"),
              0);
    EXPECT_EQ(sqlite_count(d, "SELECT count(*) FROM job_attempts WHERE job_seq NOT IN (SELECT seq FROM jobs)"), 0);
  }
}

TEST_F(RetentionTest, ABadRetentionSettingIsRefusedNamingIt) {
  RunResult r = run_daisy({"serve", "--data-dir", "/nonexistent/never", "--event-retention-days", "soon"});
  EXPECT_TRUE(r.status.exited && r.status.code != 0) << r.status.describe();
  EXPECT_NE((r.out + r.err).find("--event-retention-days"), std::string::npos) << r.out << r.err;
  r = run_daisy({"serve", "--data-dir", "/nonexistent/never", "--job-retention-days", "-3"});
  EXPECT_TRUE(r.status.exited && r.status.code != 0) << r.status.describe();
  EXPECT_NE((r.out + r.err).find("--job-retention-days"), std::string::npos) << r.out << r.err;
}

}  // namespace
}  // namespace daisy_e2e
