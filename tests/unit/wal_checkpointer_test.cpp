#include "store/sqlite/wal_checkpointer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/connection.h"
#include "store/sqlite/wal_restart_gate.h"
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

// The default threshold sits between the commits of single events and
// submissions under load (about 5 and 12 frames: some 16 requests each) and
// those of batches of 100 from 16 connections (about 87 frames): at 512 KiB
// the latter stayed on the writer, which spent 2.6-3.2 s of every 10 s in
// checkpoints (bench-grpc's load, 2026-12-07).
TEST(WalCheckpointer, ByDefaultACommitOf64FramesIsLargeAndOneOf30IsNot) {
  Fixture f;
  WalCheckpointer checkpointer(f.path, {});
  checkpointer.attach(f.writer.handle());
  for (int i = 0; i < 40; ++i) f.commit(30, kPage - 200);  // 1,200 frames: several checkpoints
  EXPECT_EQ(checkpointer.background_checkpoints(), 0u);
  EXPECT_GT(checkpoint_count(checkpointer, "writer"), 0);
  for (int i = 0; i < 10; ++i) f.commit(70, kPage - 200);
  EXPECT_TRUE(background_checkpointed(checkpointer));
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

namespace {

// Readers that scan in slices the way event queries do, each slice a read
// transaction of a few milliseconds, started again at once: with three of
// them there is always one holding a snapshot in the WAL.
class OverlappingScans {
 public:
  OverlappingScans(const std::string& path, daisy::sqlite::WalRestartGate& gate) {
    for (int i = 0; i < 3; ++i) {
      threads_.emplace_back([this, path, &gate, i] {
        Connection db(path, Connection::Mode::read_only);
        std::this_thread::sleep_for(std::chrono::milliseconds(2 * i));
        while (!stop_.load()) {
          gate.before_slice();
          db.exec("BEGIN");
          auto stmt = db.prepare("SELECT count(*) FROM t");
          EXPECT_EQ(stmt.step(), SQLITE_ROW);
          std::this_thread::sleep_for(std::chrono::milliseconds(6));
          stmt.reset();
          db.exec("COMMIT");
          gate.after_slice();
        }
      });
    }
  }
  ~OverlappingScans() {
    stop_ = true;
    for (auto& t : threads_) t.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

struct BesideScans {
  std::uintmax_t wal_bytes;  // the WAL's file keeps its largest size: how long the WAL grew
  std::uint64_t background_checkpoints;
};

// 2,000 one-page commits beside the scans (about 25 MB of WAL frames: each
// also rewrites the table's interior pages).
BesideScans commits_beside_scans(bool gate_given) {
  Fixture f;
  daisy::sqlite::WalRestartGate gate;
  WalCheckpointer::Options options;
  options.restart_frames = 256;  // 1 MiB
  options.checkpoint_frames = 64;
  WalCheckpointer checkpointer(f.path, options, gate_given ? &gate : nullptr);
  checkpointer.attach(f.writer.handle());
  f.commit(1, 3000);
  {
    OverlappingScans scans(f.path, gate);
    for (int i = 0; i < 2000; ++i) {
      f.commit(1, 3000);
      if (i % 4 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  EXPECT_EQ(f.rows(), 2001);
  std::printf("after 2,000 commits beside scans, %s the gate: WAL %ju bytes, %ju background checkpoints\n",
              gate_given ? "with" : "without", f.wal_bytes(), std::uintmax_t{checkpointer.background_checkpoints()});
  return {f.wal_bytes(), checkpointer.background_checkpoints()};
}

}  // namespace

TEST(WalCheckpointer, WithoutTheGateOverlappingScansKeepTheWalFromRestarting) {
  // The situation the gate exists for: nearly everything written stays in
  // the WAL (about 25 MB).
  EXPECT_GT(commits_beside_scans(false).wal_bytes, 16u * 1024 * 1024);
}

TEST(WalCheckpointer, TheGateLetsTheWalRestartBesideOverlappingScans) {
  // Restarts at 1 MiB, plus what the commits add while the slices under way
  // end (measured 1.75-1.85 MB alone; when the background checkpoints fall
  // behind, as under a loaded machine, the writer takes over at 4 MiB).
  const BesideScans run = commits_beside_scans(true);
  EXPECT_LT(run.wal_bytes, 12u * 1024 * 1024);
  // Paced by checkpoint_frames: measured 86-134; woken at every commit
  // while the WAL was long, they were 413-422.
  EXPECT_LT(run.background_checkpoints, 250u);
}

TEST(WalRestartGate, SlicesPassUntilARestartIsAskedThenWaitForIt) {
  daisy::sqlite::WalRestartGate gate(std::chrono::seconds(30));
  EXPECT_FALSE(gate.scans_within(std::chrono::seconds(1)));
  gate.before_slice();
  EXPECT_EQ(gate.slices_under_way(), 1);
  EXPECT_TRUE(gate.scans_within(std::chrono::seconds(1)));
  gate.after_slice();
  EXPECT_EQ(gate.slices_under_way(), 0);

  gate.ask();
  EXPECT_TRUE(gate.asked());
  std::atomic<bool> passed{false};
  std::thread reader([&] {
    gate.before_slice();
    passed = true;
    gate.after_slice();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(passed.load());  // held back: the writer asked within max_wait
  gate.restarted();
  reader.join();
  EXPECT_TRUE(passed.load());
  EXPECT_FALSE(gate.asked());
  EXPECT_EQ(gate.slices_under_way(), 0);
}
