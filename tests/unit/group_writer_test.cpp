#include "store/sqlite/group_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "test_support.h"

using daisy::Status;
using daisy::sqlite::Connection;
using daisy::sqlite::GroupWriter;

namespace {

struct Fixture {
  daisy::test::TempDir dir;
  std::string path = (dir.path() / "w.db").string();

  Fixture() {
    Connection db(path, Connection::Mode::read_write);
    db.exec("PRAGMA journal_mode=WAL");
    db.exec("CREATE TABLE t (k TEXT PRIMARY KEY)");
  }

  std::vector<std::string> keys() {
    Connection db(path, Connection::Mode::read_only);
    std::vector<std::string> out;
    auto stmt = db.prepare("SELECT k FROM t ORDER BY k");
    while (stmt.step() == SQLITE_ROW) out.push_back(stmt.text(0));
    return out;
  }
};

GroupWriter::Work insert(std::string key) {
  return [key](Connection& db) {
    auto stmt = db.prepare("INSERT INTO t (k) VALUES (?)");
    stmt.bind(1, key);
    return stmt.step() == SQLITE_DONE ? Status::ok() : Status::conflict("duplicate");
  };
}

// Inserts a row, then fails: its row must not survive, whatever its batch.
GroupWriter::Work insert_then_fail(std::string key) {
  return [key](Connection& db) {
    auto stmt = db.prepare("INSERT INTO t (k) VALUES (?)");
    stmt.bind(1, key);
    (void)stmt.step();
    return Status::conflict("failing after a write");
  };
}

}  // namespace

TEST(GroupWriter, AFailingWriteIsRolledBackAloneWithinABatch) {
  Fixture f;
  auto connection = std::make_unique<Connection>(f.path, Connection::Mode::read_write);
  GroupWriter writer(std::move(connection), nullptr);
  // Many writers at once, so the failing ones share batches with good ones.
  std::vector<std::future<Status>> results;
  std::vector<std::shared_ptr<std::promise<Status>>> promises;
  for (int i = 0; i < 300; ++i) {
    auto p = std::make_shared<std::promise<Status>>();
    results.push_back(p->get_future());
    std::string key = "k" + std::to_string(1000 + i);
    writer.submit(i % 10 == 3 ? insert_then_fail(key) : insert(key), [p](Status s) { p->set_value(s); });
  }
  for (int i = 0; i < 300; ++i) {
    Status s = results[i].get();
    if (i % 10 == 3) {
      EXPECT_EQ(s.code(), Status::Code::conflict) << i;
    } else {
      EXPECT_TRUE(s.is_ok()) << i << ": " << s.message();
    }
  }
  writer.close();
  auto keys = f.keys();
  EXPECT_EQ(keys.size(), 270u);
  for (const auto& k : keys) {
    int i = std::stoi(k.substr(1)) - 1000;
    EXPECT_NE(i % 10, 3) << "the row of a failed write survived: " << k;
  }
}

TEST(GroupWriter, DuplicateInTheSameBatchFailsOnlyTheSecond) {
  Fixture f;
  auto connection = std::make_unique<Connection>(f.path, Connection::Mode::read_write);
  GroupWriter writer(std::move(connection), nullptr);
  std::promise<Status> a, b, c;
  writer.submit(insert("same"), [&](Status s) { a.set_value(s); });
  writer.submit(insert("same"), [&](Status s) { b.set_value(s); });
  writer.submit(insert("other"), [&](Status s) { c.set_value(s); });
  EXPECT_TRUE(a.get_future().get().is_ok());
  EXPECT_EQ(b.get_future().get().code(), Status::Code::conflict);
  EXPECT_TRUE(c.get_future().get().is_ok());
  writer.close();
  EXPECT_EQ(f.keys(), (std::vector<std::string>{"other", "same"}));
}

TEST(GroupWriter, SubmitAfterCloseIsUnavailable) {
  Fixture f;
  auto connection = std::make_unique<Connection>(f.path, Connection::Mode::read_write);
  GroupWriter writer(std::move(connection), nullptr);
  writer.close();
  std::promise<Status> p;
  writer.submit(insert("late"), [&](Status s) { p.set_value(s); });
  EXPECT_EQ(p.get_future().get().code(), Status::Code::unavailable);
}

TEST(GroupWriter, WithASyncWritesCompleteOnlyAfterTheSyncThatFollowsTheirCommit) {
  Fixture f;
  auto connection = std::make_unique<Connection>(f.path, Connection::Mode::read_write);
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> syncs{0};
  // The sync blocks until the test releases it: nothing may complete before.
  GroupWriter::Sync sync = [&] {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return release; });
    ++syncs;
    return true;
  };
  GroupWriter writer(std::move(connection), nullptr, 2048, sync);
  std::vector<std::future<Status>> results;
  for (int i = 0; i < 20; ++i) {
    auto promise = std::make_shared<std::promise<Status>>();
    results.push_back(promise->get_future());
    writer.submit(insert("k" + std::to_string(i)), [promise](Status s) { promise->set_value(std::move(s)); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (auto& r : results) {
    EXPECT_EQ(r.wait_for(std::chrono::seconds(0)), std::future_status::timeout) << "completed before its sync";
  }
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  for (auto& r : results) EXPECT_TRUE(r.get().is_ok());
  EXPECT_GE(syncs.load(), 1);
  EXPECT_EQ(f.keys().size(), 20u);
}

TEST(GroupWriter, AFailedSyncFailsTheWritesItCovered) {
  Fixture f;
  auto connection = std::make_unique<Connection>(f.path, Connection::Mode::read_write);
  GroupWriter writer(std::move(connection), nullptr, 2048, [] { return false; });
  std::promise<Status> done;
  writer.submit(insert("lost"), [&](Status s) { done.set_value(std::move(s)); });
  Status s = done.get_future().get();
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), Status::Code::unavailable);
  // Fail-stop: nothing is taken after a failed sync.
  std::promise<Status> later;
  writer.submit(insert("later"), [&](Status st) { later.set_value(std::move(st)); });
  EXPECT_EQ(later.get_future().get().code(), Status::Code::unavailable);
  EXPECT_EQ(f.keys(), std::vector<std::string>{"lost"}) << "committed, but never acknowledged";
}

TEST(GroupWriter, CloseCompletesWhatWasWaitingForASync) {
  Fixture f;
  auto connection = std::make_unique<Connection>(f.path, Connection::Mode::read_write);
  std::atomic<int> completed{0};
  {
    GroupWriter writer(std::move(connection), nullptr, 2048, [] { return true; });
    for (int i = 0; i < 50; ++i) {
      writer.submit(insert("c" + std::to_string(i)), [&](Status s) { completed += s.is_ok(); });
    }
    writer.close();
  }
  EXPECT_EQ(completed.load(), 50);
}
