#pragma once
// Who checkpoints the WAL, and when. A checkpoint copies the WAL's frames
// into the database file and syncs (twice: the WAL before, the file after).
//
// While commits are small (single events, submissions), the writer does it
// itself after every checkpoint_frames frames (1 MiB, not SQLite's 4 MiB:
// the pause grows with it): measured, that keeps single events' p99 about
// 2 ms lower than checkpoints on another thread, whose copying and syncs
// compete with the request path for the 2 cores and the disk.
//
// While commits are large (batches of events: commits of 256 KiB or more), the
// syncs on the writer stalled it: it spent about 30% of its time waiting for
// them (perf, 2026-12-07). Then a thread of its own, on a connection of its
// own, runs PASSIVE checkpoints while the writer goes on (batches: +35%).
// A background checkpoint never catches up with a writer that keeps
// appending, and the WAL restarts from its beginning only after a checkpoint
// that copied every frame; so once the WAL is long (restart_frames) the
// writer checkpoints itself, copying the little the background has not.
//
// Scans that overlap without pause would keep the WAL from ever restarting
// (see WalRestartGate). While they run, checkpoints go to the background
// (the writer's could not copy past the slices anyway, and beside them took
// 5-30 ms each); once the WAL is long, the gate holds new slices back, and
// when none is under way and at most final_frames are left to copy, the
// writer copies them so that its next commit restarts the WAL.
//
// Threads: the WAL hook runs on the writer thread; background checkpoints on
// `daisy-checkpoint` (nice 10).

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "observability/metrics.h"

namespace daisy::sqlite {

class Connection;
class WalRestartGate;

class WalCheckpointer {
 public:
  struct Options {
    int checkpoint_frames = 256;                        // frames appended since the last checkpoint before another
    int large_commit_frames = 64;                       // a commit of this many frames (256 KiB) is large...
    std::chrono::milliseconds large_commits_for{1000};  // ...and makes checkpoints background ones this long
    int restart_frames = 4096;                          // 16 MiB of WAL: the writer checkpoints itself
    std::chrono::milliseconds scans_for{1000};          // a scan's slice began this recently: scans are running
    int final_frames = 64;                              // while they run, the most the writer copies itself
  };
  // gate, when given, must outlive the checkpointer.
  WalCheckpointer(const std::string& path, Options options, WalRestartGate* gate = nullptr);
  ~WalCheckpointer();  // same as stop()
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // The writer connection's WAL hook: installs it on `writer`.
  void attach(sqlite3* writer);
  // Ends the thread; later checkpoints run on the writer.
  void stop();
  // Writer thread: for its scope, commits never count as large (the writer's
  // own background work, e.g. index steps, whose size says nothing of the load).
  class IgnoringCommitSizes {
   public:
    explicit IgnoringCommitSizes(WalCheckpointer& c) : c_(c) { c_.ignore_sizes_ = true; }
    ~IgnoringCommitSizes() { c_.ignore_sizes_ = false; }
    IgnoringCommitSizes(const IgnoringCommitSizes&) = delete;
    IgnoringCommitSizes& operator=(const IgnoringCommitSizes&) = delete;

   private:
    WalCheckpointer& c_;
  };
  // Checkpoints run on the background thread so far (for tests and metrics).
  std::uint64_t background_checkpoints() const { return background_seconds_.snapshot().count; }
  // daisy_store_checkpoint_seconds{thread="writer"|"background"}: how long
  // each checkpoint took, and on which thread.
  void render_metrics(std::string& out) const;

 private:
  static int on_commit(void* self, sqlite3* db, const char* name, int frames);
  // False once stopped: then the writer checkpoints.
  bool wake_background();
  int checkpoint_on_writer(sqlite3* db, const char* name);
  // While scans run and the WAL is long: brings the WAL to where it can restart.
  int toward_restart(sqlite3* db, const char* name, int frames);
  // Checkpoints once checkpoint_frames frames have come since the last one
  // was asked for (or at once when due_now): on the background thread when
  // in_background and it runs, else on the writer.
  int paced_checkpoint(sqlite3* db, const char* name, int frames, bool due_now, bool in_background);
  void run();

  Options options_;
  WalRestartGate* gate_;
  std::unique_ptr<Connection> connection_;  // used by the thread only
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;
  bool running_ = false;  // a background checkpoint is under way
  bool stopping_ = false;
  // Writer thread only: WAL frames at the last checkpoint and at the last
  // commit, and until when commits count as large.
  int requested_at_ = 0;
  int last_frames_ = 0;
  bool ignore_sizes_ = false;
  Histogram writer_seconds_{latency_bounds};
  Histogram background_seconds_{latency_bounds};
  std::chrono::steady_clock::time_point large_commits_until_{};
  std::atomic<int> backfilled_{0};  // WAL frames copied, as the last checkpoint said
  std::thread thread_;
};

}  // namespace daisy::sqlite
