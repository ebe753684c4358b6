#include "store/sqlite/group_writer.h"

#include <gtest/gtest.h>

#include <future>
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
