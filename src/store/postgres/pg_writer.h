#pragma once
// The writer threads of the PostgreSQL store. Each owns one connection, takes
// every write queued since its last commit (up to a batch), runs them in one
// transaction, commits once and then completes them (group commit, as the
// SQLite writer does). Several threads commit side by side: PostgreSQL, not
// one thread, orders the writes, so concurrent writes meet its constraints
// and row locks.
//
// - A write that fails rolls back alone: the batch runs again with each write
//   in a savepoint.
// - A deadlock or serialization failure with another writer runs the batch
//   again (a few times).
// - A connection found broken before COMMIT was sent (a restarted server)
//   is replaced and the batch runs again: nothing of it can have committed.
//   Broken after COMMIT was sent, the outcome is unknown and the batch fails
//   as unavailable (its retry is the client's, with an idempotency key).
// - A write's Done runs only after its commit has returned: an acknowledged
//   write is in PostgreSQL's WAL (the sessions pin synchronous_commit=on).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/postgres/pg_connection.h"
#include "store/status.h"

namespace daisy {
class Metrics;
}

namespace daisy::pg {

class Writer {
 public:
  // Runs inside the transaction; a non-ok Status rolls back this write only.
  // May run more than once (after a rollback caused by another write of its
  // batch), so it must depend only on its inputs and the database.
  using Work = std::function<Status(Connection&)>;
  // Called after the commit (or the failure); must not block.
  using Done = std::function<void(Status)>;

  // setup_sql runs on each new connection; metrics (may be null) observes
  // each commit's duration and batch size.
  Writer(std::string conninfo, std::string setup_sql, std::size_t threads, Metrics* metrics,
         std::size_t max_batch = 256);
  ~Writer();  // same as close()

  // Queues a write. After close(), completes at once with unavailable.
  void submit(Work work, Done done);
  // Commits what is queued, then stops the threads. Idempotent.
  void close();
  // How long the oldest write queued or in progress has waited (zero when
  // none): a writer stuck on the database shows here.
  std::chrono::steady_clock::duration stalled_for();

 private:
  using Clock = std::chrono::steady_clock;
  struct Op {
    Work work;
    Done done;
    Clock::time_point queued;
  };
  // What one run of a batch came to.
  struct Run {
    Status status;              // ok: committed (each write's own result is in results)
    bool write_failed = false;  // a write failed while not isolated: run again isolated
    bool transient = false;     // deadlock or serialization failure: run again
    bool commit_sent = false;   // the connection broke after COMMIT was sent: outcome unknown
  };
  void run(std::size_t index);
  void commit_batch(std::unique_ptr<Connection>& db, std::vector<Op>& batch);
  Run run_batch(Connection& db, std::vector<Op>& batch, std::vector<Status>& results, bool isolate);

  std::string conninfo_, setup_sql_;
  Metrics* metrics_;
  std::size_t max_batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op> queue_;
  bool closing_ = false;
  // Per thread: when the batch it runs was queued (its oldest write); 0 when idle.
  std::unique_ptr<std::atomic<Clock::rep>[]> busy_since_;
  std::vector<std::thread> threads_;
};

}  // namespace daisy::pg
