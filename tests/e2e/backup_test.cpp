// `daisy backup`: an online copy of the SQLite database, taken while the
// server writes, restores everything acknowledged before the copy began.
#include <boost/json.hpp>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "harness.h"
#include "postgres_server.h"
#include "suite_support.h"

namespace daisy_e2e {
namespace {

using namespace fx;

class BackupTest : public OwnedServers {};

std::vector<std::string> backup_args(DaisyProcess& d, const std::string& to) {
  std::vector<std::string> args{"backup", "--to", to};
  for (std::string& a : d.store_args()) args.push_back(std::move(a));
  return args;
}

// Sends single events with their own ids until stopped; keeps the ids of
// those acknowledged (202), in the order acknowledged.
class EventWriter {
 public:
  EventWriter(const DaisyProcess& d, std::string token, int threads) {
    for (int t = 0; t < threads; ++t) {
      workers_.emplace_back([this, &d, token, t] {
        Client c = d.connect();
        for (int i = 0; !stop_; ++i) {
          char id[40], session[40];
          std::snprintf(id, sizeof id, "00000000-0000-7000-8000-%04x%08x", t, i);
          std::snprintf(session, sizeof session, "00000000-0000-4000-8000-%012x", t);
          std::string body = R"({"id":")" + std::string(id) + R"(","session_id":")" + session +
                             R"(","category":"load","name":"tick","timestamp":"2026-01-01T10:00:00Z","data":{"i":)" +
                             std::to_string(i) + "}}";
          HttpResponse r = c.request("POST", "/v1/events", with(bearer(token), json_content()), body);
          if (r.status != 202) {
            ADD_FAILURE() << "event refused under backup: " << r.summary();
            return;
          }
          std::lock_guard lock(mu_);
          acknowledged_.push_back(id);
        }
      });
    }
  }
  ~EventWriter() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& w : workers_) {
      if (w.joinable()) w.join();
    }
  }
  std::vector<std::string> acknowledged() const {
    std::lock_guard lock(mu_);
    return acknowledged_;
  }

 private:
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<std::string> acknowledged_;
  std::vector<std::thread> workers_;
};

TEST_F(BackupTest, ABackupTakenUnderLoadRestoresEverythingAcknowledgedBeforeIt) {
  DaisyProcess& d = make();
  ASSERT_TRUE(d.start()) << d.start_error();
  std::string backup = d.data_dir() + "-backup.db";
  if (on_postgres()) {
    RunResult r = run_daisy(backup_args(d, backup));
    EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.status.describe();
    EXPECT_NE(r.err.find("pg_dump"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(backup));
    return;
  }
  HttpResponse app = d.create_app("backed-up");
  ASSERT_EQ(app.status, 201) << app.summary();
  std::string app_id = str(app.json(), "id"), token = str(app.json(), "token");

  EventWriter writer(d, token, 3);
  ASSERT_TRUE(eventually([&] { return writer.acknowledged().size() >= 600; }, 60s));
  std::vector<std::string> before = writer.acknowledged();
  RunResult r = run_daisy(backup_args(d, backup));
  std::size_t during = writer.acknowledged().size() - before.size();
  ASSERT_TRUE(eventually([&] { return writer.acknowledged().size() >= before.size() + during + 200; }, 60s));
  writer.stop();
  std::size_t acknowledged = writer.acknowledged().size();
  ASSERT_TRUE(r.status.exited && r.status.code == 0) << r.status.describe() << "\n" << r.err;
  EXPECT_NE(r.err.find("100%"), std::string::npos) << "progress ends at 100%: " << r.err;
  EXPECT_NE(r.out.find("backed up"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(backup + ".partial"));
  HttpResponse after_backup = d.create_app("after-backup");
  EXPECT_EQ(after_backup.status, 201) << "the server kept writing: " << after_backup.summary();

  // Restore: the file as daisy.db in an empty data dir.
  DaisyProcess& restored = make();
  std::filesystem::copy_file(backup, restored.data_dir() + "/daisy.db");
  ASSERT_TRUE(restored.start()) << restored.start_error();
  std::vector<json::value> events = read_all_pages(restored, "/v1/events", restored.admin(), "app_id=" + app_id, 1000);
  std::set<std::string> ids;
  for (const auto& e : events) ids.insert(str(e, "id"));
  for (const auto& id : before) EXPECT_EQ(ids.count(id), 1u) << "acknowledged before the backup, missing: " << id;
  EXPECT_EQ(ids.size(), events.size()) << "each event once";
  EXPECT_LE(events.size(), acknowledged) << "nothing the server never acknowledged";
  EXPECT_EQ(restored.get("/v1/apps/" + app_id, restored.admin()).status, 200);
  EXPECT_EQ(restored.get("/v1/apps/" + str(after_backup.json(), "id"), restored.admin()).status, 404)
      << "the copy is the snapshot of its start, not later writes";
  HttpResponse sent =
      restored.request("POST", "/v1/events", with(bearer(token), json_content()),
                       R"({"session_id":"00000000-0000-4000-8000-00000000ffff","category":"load","name":"tick",)"
                       R"("timestamp":"2026-01-01T10:00:00Z","data":{"i":-1}})");
  EXPECT_EQ(sent.status, 202) << "the restored server takes writes with the old token: " << sent.summary();
  std::filesystem::remove(backup);
  EXPECT_EQ(restored.stop().code, 0);
  RunResult check = run_daisy({"check", "--data-dir", restored.data_dir()});
  EXPECT_TRUE(check.status.exited && check.status.code == 0) << check.out << check.err;
}

TEST_F(BackupTest, RefusesToOverwriteAFileOrToCopyNothing) {
  DaisyProcess& d = make();
  if (on_postgres()) GTEST_SKIP() << "backup copies SQLite databases; the PostgreSQL refusal is tested above";
  std::string existing = d.data_dir() + "-existing.db";
  {
    std::FILE* f = std::fopen(existing.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("keep me", f);
    std::fclose(f);
  }
  RunResult no_db = run_daisy({"backup", "--data-dir", d.data_dir(), "--to", d.data_dir() + "-new.db"});
  EXPECT_TRUE(no_db.status.exited && no_db.status.code == 2) << no_db.status.describe();
  EXPECT_NE(no_db.err.find("does not exist"), std::string::npos) << no_db.err;

  ASSERT_TRUE(d.start()) << d.start_error();
  RunResult over = run_daisy({"backup", "--data-dir", d.data_dir(), "--to", existing});
  EXPECT_TRUE(over.status.exited && over.status.code == 2) << over.status.describe();
  EXPECT_NE(over.err.find("exists already"), std::string::npos) << over.err;
  EXPECT_EQ(std::filesystem::file_size(existing), 7u) << "the existing file is untouched";
  RunResult no_target = run_daisy({"backup", "--data-dir", d.data_dir()});
  EXPECT_TRUE(no_target.status.exited && no_target.status.code != 0) << no_target.status.describe();
  EXPECT_NE(no_target.err.find("--to"), std::string::npos) << no_target.err;
  std::filesystem::remove(existing);
}

}  // namespace
}  // namespace daisy_e2e
