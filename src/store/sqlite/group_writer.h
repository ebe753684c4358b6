#pragma once
// The single writer thread of the SQLite store. It takes every write queued
// since its last commit, runs them inside one transaction (each isolated from
// the others' failures), commits once, then completes them all (group commit).
// A write's completion runs only after the commit is durable, so a caller
// acknowledged by it survives kill -9 (and power loss when a Sync is given).
//
// With a Sync, the connection commits without waiting for the disk
// (synchronous=NORMAL) and a second thread makes the commits durable: it runs
// Sync once for every commit made since its last one, then completes their
// writes. The writer meanwhile runs the next transaction, so the disk's
// latency no longer stalls it, and one sync serves several commits. A failed
// sync fails the writes it covered and every write after it, until restart.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "store/sqlite/connection.h"
#include "store/status.h"

namespace daisy {
class Metrics;
}

namespace daisy::sqlite {

class GroupWriter {
 public:
  // Runs inside the transaction; a non-ok Status rolls back this write only.
  // May run twice (after a rollback caused by another write in its batch), so
  // it must depend only on its inputs and the database.
  using Work = std::function<Status(Connection&)>;
  // Called after the commit is durable (or the write failed), on the writer
  // thread or, with a Sync, on the sync thread; must not block.
  using Done = std::function<void(Status)>;

  // Called on the writer thread right after the commit that made the write
  // visible (before it is durable, before Done); only when the write
  // succeeded. Must not block.
  using AfterCommit = std::function<void()>;
  // Makes every commit so far durable (e.g. fdatasync of the WAL); false on failure.
  using Sync = std::function<bool()>;
  // Background work between commits, in its own transactions (e.g. writing
  // deferred index entries), one step per call. Also called every quarter
  // second when idle. It says whether it has more to do now, and whether it
  // is so far behind that writes must wait for it (backpressure).
  enum class Backlog { none, some, too_much };
  using Background = std::function<Backlog(Connection&)>;

  GroupWriter(std::unique_ptr<Connection> connection, Metrics* metrics, std::size_t max_batch = 2048, Sync sync = {},
              Background background = {});
  ~GroupWriter();  // same as close()

  // Queues a write. After close(), completes at once with unavailable.
  void submit(Work work, Done done, AfterCommit after_commit = {});
  // Commits what is queued, then stops the thread. Idempotent.
  void close();
  // Writes waiting for the writer now (for background work that should give way).
  std::size_t queued();
  // False while writes fail for want of the disk (full, I/O errors: the last
  // batch failed to commit or a write in it was `unavailable`), and for good
  // after a failed sync. True again once a batch commits a change to a row.
  bool writing() const {
    return !sync_failed_.load(std::memory_order_relaxed) && !writes_failing_.load(std::memory_order_relaxed);
  }

 private:
  struct Op {
    Work work;
    Done done;
    AfterCommit after_commit;
  };
  struct Committed {  // writes committed but not yet known durable
    std::vector<Done> done;
    std::vector<Status> results;
  };
  void run();
  void run_syncer();
  Backlog run_background();
  bool closing_now();
  void commit_batch(std::deque<Op>& batch);
  // False (at the first failed write) when not isolating writes in savepoints.
  bool run_batch(std::deque<Op>& batch, std::vector<Status>& results, bool isolate);

  std::unique_ptr<Connection> connection_;
  Metrics* metrics_;
  std::size_t max_batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op> queue_;
  bool closing_ = false;
  std::thread thread_;

  Sync sync_;
  Background background_;
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::vector<Committed> unsynced_;
  bool writer_done_ = false;  // no more commits will be queued for the syncer
  // Set by the first failed sync: every later write is refused (fail-stop).
  std::atomic<bool> sync_failed_{false};
  std::atomic<bool> writes_failing_{false};
  std::thread syncer_;
};

}  // namespace daisy::sqlite
