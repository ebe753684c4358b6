#include "store/sqlite/wal_checkpointer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "store/sqlite/connection.h"
#include "test_support.h"

using daisy::sqlite::Connection;
using daisy::sqlite::WalCheckpointer;

namespace {

struct Fixture {
  daisy::test::TempDir dir;
  std::string path = (dir.path() / "c.db").string();
  Connection writer{path, Connection::Mode::read_write};

  Fixture() {
    writer.exec("PRAGMA journal_mode=WAL");
    writer.exec("PRAGMA synchronous=NORMAL");
    writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)");
  }

  // One commit of `rows` rows of `bytes` bytes each.
  void commit(int rows, int bytes) {
    writer.exec("BEGIN IMMEDIATE");
    auto stmt = writer.prepare("INSERT INTO t (body) VALUES (zeroblob(?))");
    for (int i = 0; i < rows; ++i) {
      stmt.bind(1, static_cast<std::int64_t>(bytes));
      ASSERT_EQ(stmt.step(), SQLITE_DONE);
      stmt.reset();
    }
    writer.exec("COMMIT");
  }

  std::uintmax_t wal_bytes() const { return std::filesystem::file_size(path + "-wal"); }
  std::int64_t rows() {
    Connection reader(path, Connection::Mode::read_only);
    auto stmt = reader.prepare("SELECT count(*) FROM t");
    EXPECT_EQ(stmt.step(), SQLITE_ROW);
    return stmt.integer(0);
  }
};

constexpr int kPage = 4096;

// Waits (up to 10 s) for the background thread to have run a checkpoint.
bool background_checkpointed(const WalCheckpointer& c) {
  for (int i = 0; i < 1000 && c.background_checkpoints() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return c.background_checkpoints() > 0;
}

// daisy_store_checkpoint_seconds_count{thread="<thread>"} as rendered; -1
// when the line is missing.
long long checkpoint_count(const WalCheckpointer& c, const std::string& thread) {
  std::string out;
  c.render_metrics(out);
  std::string key = "daisy_store_checkpoint_seconds_count{thread=\"" + thread + "\"} ";
  auto at = out.find(key);
  if (at == std::string::npos) return -1;
  return std::stoll(out.substr(at + key.size()));
}

}  // namespace

TEST(WalCheckpointer, SmallCommitsAreCheckpointedByTheWriterAndTheWalStaysShort) {
  Fixture f;
  WalCheckpointer checkpointer(f.path, {});
  checkpointer.attach(f.writer.handle());
  // 4,000 commits of one page each: 16 MB through the WAL.
  for (int i = 0; i < 4000; ++i) f.commit(1, 3000);
  EXPECT_EQ(checkpointer.background_checkpoints(), 0u);
  // Checkpointed every 256 frames and restarted: never near 16 MB.
  EXPECT_LT(f.wal_bytes(), 4u * 1024 * 1024);
  EXPECT_EQ(f.rows(), 4000);
  // /metrics: each checkpoint timed, all of them the writer's.
  EXPECT_GE(checkpoint_count(checkpointer, "writer"), 4000 / 256);
  EXPECT_EQ(checkpoint_count(checkpointer, "background"), 0);
}

TEST(WalCheckpointer, LargeCommitsAreCheckpointedInTheBackgroundAndTheWalStillRestarts) {
  Fixture f;
  WalCheckpointer::Options options;
  options.restart_frames = 1024;  // 4 MiB
  WalCheckpointer checkpointer(f.path, options);
  checkpointer.attach(f.writer.handle());
  // 100 commits of 200 pages each (800 KB): 80 MB through the WAL.
  for (int i = 0; i < 100; ++i) f.commit(200, kPage - 200);
  EXPECT_TRUE(background_checkpointed(checkpointer));
  EXPECT_GT(checkpoint_count(checkpointer, "background"), 0);
  EXPECT_GT(checkpoint_count(checkpointer, "writer"), 0);  // at restart_frames
  // The writer completed the checkpoints at restart_frames, so the WAL
  // restarted instead of growing with everything written (80 MB).
  EXPECT_LT(f.wal_bytes(), 16u * 1024 * 1024);
  EXPECT_EQ(f.rows(), 100 * 200);
}

TEST(WalCheckpointer, CommitsMadeWhileIgnoringSizesStayOnTheWriter) {
  Fixture f;
  WalCheckpointer checkpointer(f.path, {});
  checkpointer.attach(f.writer.handle());
  {
    WalCheckpointer::IgnoringCommitSizes index_steps(checkpointer);
    for (int i = 0; i < 20; ++i) f.commit(200, kPage - 200);
  }
  EXPECT_EQ(checkpointer.background_checkpoints(), 0u);
  f.commit(200, kPage - 200);  // a large commit of its own: from now on, in the background
  for (int i = 0; i < 5; ++i) f.commit(100, kPage - 200);
  EXPECT_TRUE(background_checkpointed(checkpointer));
}

TEST(WalCheckpointer, AfterStopTheWriterCheckpointsAgain) {
  Fixture f;
  WalCheckpointer checkpointer(f.path, {});
  checkpointer.attach(f.writer.handle());
  checkpointer.stop();
  for (int i = 0; i < 100; ++i) f.commit(200, kPage - 200);
  EXPECT_EQ(checkpointer.background_checkpoints(), 0u);
  EXPECT_LT(f.wal_bytes(), 4u * 1024 * 1024);
  EXPECT_EQ(f.rows(), 100 * 200);
}
