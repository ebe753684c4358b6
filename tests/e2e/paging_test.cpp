// Listings that page, followed while writes continue: a client that follows
// GET /v1/jobs and GET /v1/forms/{id}/responses by their cursors (after= the
// last id it saw) sees every item once, none skipped, none twice, on both
// backends (the e2e.pg. pass runs this file on PostgreSQL, where two writer
// threads commit side by side). And the heavy reads run on the readers.
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "fake_provider.h"
#include "harness.h"
#include "suite_support.h"

namespace daisy_e2e {
namespace {

using namespace fx;
using daisy::e2e::FakeProvider;
using Reply = FakeProvider::Reply;

// Follows a listing as a client collecting what is new does: from the last
// next_cursor it was given, page by page until next_cursor is null; the next
// round reads again from that cursor. What a round finds after the cursor
// must begin with what the previous round found there: an item appearing
// before one already listed is an item a client would have skipped.
class Follower {
 public:
  Follower(const DaisyProcess& server, std::string path) : server_(server), path_(std::move(path)) {}

  // False (and a test failure) when a page fails.
  bool read_new() {
    for (;;) {
      std::string target = path_ + "?limit=25";
      if (!cursor_.empty()) target += "&after=" + cursor_;
      HttpResponse r = server_.get(target, server_.admin());
      if (r.status != 200) {
        ADD_FAILURE() << target << ": " << r.summary();
        return false;
      }
      json::value page = r.json();
      std::vector<std::string> ids;
      for (const auto& item : arr(page, "items")) ids.push_back(str(item, "id"));
      bool same_start = ids.size() >= tail_.size() && std::equal(tail_.begin(), tail_.end(), ids.begin());
      EXPECT_TRUE(same_start) << target << ": an item appeared before one listed already (a follower skips it)";
      if (!same_start) return false;
      seen_.insert(seen_.end(), ids.begin() + static_cast<long>(tail_.size()), ids.end());
      json::value next = at(page, "next_cursor");
      if (next.is_null()) {
        tail_ = std::move(ids);
        return true;
      }
      cursor_ = std::string(next.as_string());
      tail_.clear();
    }
  }

  const std::vector<std::string>& seen() const { return seen_; }

 private:
  const DaisyProcess& server_;
  std::string path_;
  std::string cursor_;             // the last next_cursor given
  std::vector<std::string> tail_;  // what the last round listed after it
  std::vector<std::string> seen_;
};

class PagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DaisyProcess::Options o;
    o.args = {"--allow-private-targets"};
    server_ = std::make_unique<DaisyProcess>(std::move(o));
    ASSERT_TRUE(server_->start()) << server_->start_error();
  }
  void TearDown() override {
    EXPECT_TRUE(server_->running()) << server_->err_tail();
    std::string report = server_->sanitizer_report();
    EXPECT_TRUE(report.empty()) << report.substr(0, 3000);
  }
  std::unique_ptr<DaisyProcess> server_;
};

TEST_F(PagingTest, FollowersOfJobsAndResponsesSeeEveryItemOnceWhileWritesContinue) {
  DaisyProcess& s = *server_;
  FakeProvider receiver;
  receiver.set("/hook", Reply{.status = 200, .body = "ok", .content_type = "text/plain"});
  App app = make_app(s, "shop");
  std::string form_id = create_form_id(s, J(R"({"title":"t","questions":[{"key":"n","type":"integer"}]})"));
  for (const std::string& source : {R"({"app_id":")" + app.id + R"("})", R"({"form_id":")" + form_id + R"("})"}) {
    HttpResponse r = s.request("POST", "/v1/integrations", admin_json(),
                               R"({"name":"hook","type":"webhook","source":)" + source + R"(,"config":{"url":")" +
                                   receiver.url("/hook") + R"("}})");
    ASSERT_EQ(r.status, 201) << r.summary();
  }

  std::mutex mu;
  std::set<std::string> acknowledged_jobs, acknowledged_responses;
  constexpr int writers = 4, rounds = 20, events_per_batch = 40;
  std::atomic<int> writers_left{writers};
  auto writer = [&](int w) {
    for (int i = 0; i < rounds; ++i) {
      std::string batch = R"({"events":[)";
      for (int e = 0; e < events_per_batch; ++e) {
        if (e) batch += ",";
        batch += R"({"session_id":"0193a1b2-c3d4-7000-8000-00000000000)" + std::to_string(w) +
                 R"(","category":"ui","name":"tap","data":{"i":)" + std::to_string(i) +
                 R"(},"timestamp":"2026-01-01T10:00:00Z"})";
      }
      batch += "]}";
      HttpResponse events = s.request("POST", "/v1/events", token_json(app.token), batch);
      HttpResponse response = submit(s, form_id, J(R"({"n":)" + std::to_string(i) + "}"));
      std::lock_guard lock(mu);
      EXPECT_EQ(events.status, 202) << events.summary();
      EXPECT_EQ(response.status, 201) << response.summary();
      if (events.status == 202) {
        json::value reply = events.json();
        for (const auto& a : arr(reply, "actions")) acknowledged_jobs.insert(str(a, "job_id"));
      }
      if (response.status == 201) {
        json::value reply = response.json();
        acknowledged_responses.insert(str(reply, "id"));
        for (const auto& a : arr(reply, "actions")) acknowledged_jobs.insert(str(a, "job_id"));
      }
    }
    --writers_left;
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) threads.emplace_back(writer, w);

  Follower jobs(s, "/v1/jobs"), responses(s, responses_path(form_id));
  int rounds_during_writes = 0;
  while (writers_left.load() > 0) {
    if (!jobs.read_new() || !responses.read_new()) break;
    ++rounds_during_writes;
  }
  for (auto& t : threads) t.join();
  // Everything is acknowledged now: a last round sees the rest.
  ASSERT_TRUE(jobs.read_new());
  ASSERT_TRUE(responses.read_new());
  EXPECT_GE(rounds_during_writes, 1);

  ASSERT_EQ(acknowledged_jobs.size(), std::size_t{writers} * rounds * (events_per_batch + 1));
  for (auto [follower, acknowledged, what] :
       {std::tuple{&jobs, &acknowledged_jobs, "jobs"}, std::tuple{&responses, &acknowledged_responses, "responses"}}) {
    std::set<std::string> seen(follower->seen().begin(), follower->seen().end());
    EXPECT_EQ(seen.size(), follower->seen().size()) << what << ": an item was listed twice";
    std::vector<std::string> skipped;
    for (const auto& id : *acknowledged) {
      if (!seen.count(id)) skipped.push_back(id);
    }
    EXPECT_TRUE(skipped.empty()) << what << ": " << skipped.size() << " acknowledged but never listed, e.g. "
                                 << skipped.front();
    EXPECT_EQ(seen.size(), acknowledged->size()) << what;
  }
}

// Events are ordered by their own time, which arrives in any order, so a
// listing is a pass over what was stored when it began: it sees each such
// event once while other events keep arriving (some before its cursor), and
// never one twice.
TEST_F(PagingTest, APassOverEventsSeesEachStoredEventOnceWhileMoreArrive) {
  DaisyProcess& s = *server_;
  App app = make_app(s, "shop");
  auto batch = [&](int first, int count, std::string_view second) {
    std::string body = R"({"events":[)";
    for (int e = 0; e < count; ++e) {
      if (e) body += ",";
      body += R"({"session_id":"0193a1b2-c3d4-7000-8000-000000000001","category":"ui","name":"tap","data":{"i":)" +
              std::to_string(first + e) + R"(},"timestamp":"2026-01-01T10:00:)" + std::string(second) + R"(Z"})";
    }
    return body + "]}";
  };
  std::set<std::string> stored;
  for (int b = 0; b < 10; ++b) {
    HttpResponse r = s.request("POST", "/v1/events", token_json(app.token), batch(b * 40, 40, "30"));
    ASSERT_EQ(r.status, 202) << r.summary();
    json::value reply = r.json();
    for (const auto& id : arr(reply, "ids")) stored.insert(std::string(id.as_string()));
  }
  std::atomic<bool> stop{false};
  std::atomic<int> arrived{0};
  // Later events, half of them earlier in time than the stored ones.
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      HttpResponse r =
          s.request("POST", "/v1/events", token_json(app.token), batch(100000 + i * 10, 10, i % 2 ? "10" : "50"));
      if (r.status == 202) ++arrived;
    }
  });
  std::vector<std::string> listed;
  std::string cursor;
  for (int page = 0; page < 10000; ++page) {
    std::string target = "/v1/events?limit=25" + (cursor.empty() ? std::string() : "&after=" + cursor);
    HttpResponse r = s.get(target, s.admin());
    ASSERT_EQ(r.status, 200) << r.summary();
    json::value body = r.json();
    for (const auto& item : arr(body, "items")) listed.push_back(str(item, "id"));
    json::value next = at(body, "next_cursor");
    if (next.is_null()) break;
    cursor = std::string(next.as_string());
    std::this_thread::sleep_for(2ms);  // let events arrive between the pages
  }
  stop = true;
  writer.join();
  EXPECT_GT(arrived.load(), 0);
  std::set<std::string> unique(listed.begin(), listed.end());
  EXPECT_EQ(unique.size(), listed.size()) << "an event was listed twice";
  std::size_t missing = 0;
  for (const auto& id : stored) missing += unique.count(id) ? 0 : 1;
  EXPECT_EQ(missing, 0u) << "of " << stored.size() << " events stored before the pass began";
}

// The reads that can be long run on the readers (daisy_reader_runs_total
// counts them); cheap ones and writes stay on the I/O threads.
TEST_F(PagingTest, HeavyReadsRunOnTheReaders) {
  DaisyProcess& s = *server_;
  auto runs = [&] { return metric_value(s.get("/metrics").body, "daisy_reader_runs_total").value_or(-1); };
  double before = runs();
  ASSERT_GE(before, 0) << "no daisy_reader_runs_total in /metrics";
  EXPECT_EQ(s.get("/healthz").status, 200);
  App app = make_app(s, "shop");
  EXPECT_EQ(runs(), before) << "a cheap read or a write ran on the readers";
  // A provider (never pulled: its port is closed) whose stored items /v1/items scans.
  HttpResponse provider =
      s.request("POST", "/v1/providers", admin_json(),
                R"({"name":"p","url":"http://127.0.0.1:9/feed","format":"json","interval_s":3600})");
  ASSERT_EQ(provider.status, 201) << provider.summary();
  for (const char* path : {"/v1/events?limit=5", "/v1/events/rejections", "/v1/jobs", "/v1/items?provider=p"}) {
    HttpResponse r = s.get(path, s.admin());
    EXPECT_EQ(r.status, 200) << path << ": " << r.summary();
    double now = runs();
    EXPECT_GT(now, before) << path << " did not run on the readers";
    before = now;
  }
  // A replay reads its records there, page by page.
  HttpResponse created = s.request("POST", "/v1/integrations", admin_json(),
                                   R"({"name":"hook","type":"webhook","source":{"app_id":")" + app.id +
                                       R"("},"config":{"url":"http://127.0.0.1:9/hook"}})");
  ASSERT_EQ(created.status, 201) << created.summary();
  HttpResponse replayed = s.request("POST", "/v1/integrations/" + str(created.json(), "id") + "/replay", admin_json(),
                                    R"({"since":"2026-01-01T00:00:00Z","until":"2026-01-02T00:00:00Z"})");
  EXPECT_EQ(replayed.status, 202) << replayed.summary();
  EXPECT_GT(runs(), before) << "the replay did not read on the readers";
}

}  // namespace
}  // namespace daisy_e2e
