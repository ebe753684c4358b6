#pragma once
// The writer threads of the PostgreSQL store. Each owns one connection, takes
// every write queued since its last commit (up to a batch), runs them in one
// transaction, commits once and then completes them (group commit, as the
// SQLite writer does). Several threads commit side by side: PostgreSQL, not
// one thread, orders the writes, so concurrent writes meet its constraints
// and row locks.
//
// A write that fails rolls back alone: the batch is run again with each write
// in a savepoint. A write's Done runs only after its commit has returned, so
// an acknowledged write is in PostgreSQL's WAL (synchronous_commit=on). When
// the connection is lost the batch fails as unavailable and the thread
// reconnects for the next one.

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

  // metrics (may be null) observes each commit's duration and batch size.
  Writer(std::string conninfo, std::string setup_sql, std::size_t threads, Metrics* metrics,
         std::size_t max_batch = 256);
  ~Writer();  // same as close()

  // Queues a write. After close(), completes at once with unavailable.
  void submit(Work work, Done done);
  // Commits what is queued, then stops the threads. Idempotent.
  void close();

 private:
  struct Op {
    Work work;
    Done done;
  };
  void run();
  void commit_batch(std::unique_ptr<Connection>& db, std::vector<Op>& batch);
  // Runs the batch in one transaction and sets each write's result. Not ok
  // when the batch must run again isolated (a write failed), or could not commit.
  Status run_batch(Connection& db, std::vector<Op>& batch, std::vector<Status>& results, bool isolate);

  std::string conninfo_, setup_sql_;
  Metrics* metrics_;
  std::size_t max_batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op> queue_;
  bool closing_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace daisy::pg
