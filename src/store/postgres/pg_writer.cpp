#include "store/postgres/pg_writer.h"

#include <spdlog/spdlog.h>

#include "observability/log_value.h"
#include "observability/metrics.h"
#include "store/postgres/pg_pool.h"
#include "util/thread_name.h"

namespace daisy::pg {

namespace {

// Runs of one batch at most: the first, one isolated, and retries after
// deadlocks or a connection replaced before COMMIT.
constexpr int max_runs = 4;

bool in_transaction(Connection& db) { return PQtransactionStatus(db.handle()) != PQTRANS_IDLE; }

}  // namespace

Writer::Writer(std::string conninfo, std::string setup_sql, std::size_t threads, Metrics* metrics,
               std::size_t max_batch)
    : conninfo_(std::move(conninfo)),
      setup_sql_(std::move(setup_sql)),
      metrics_(metrics),
      max_batch_(max_batch),
      busy_since_(new std::atomic<Clock::rep>[threads]) {
  for (std::size_t i = 0; i < threads; ++i) busy_since_[i].store(0);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this, i] { run(i); });
}

Writer::~Writer() { close(); }

void Writer::submit(Work work, Done done) {
  {
    std::lock_guard lock(mu_);
    if (!closing_) {
      queue_.push_back({std::move(work), std::move(done), Clock::now()});
      cv_.notify_one();
      return;
    }
  }
  done(Status::unavailable("the store is closed"));
}

void Writer::close() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

Writer::Clock::duration Writer::stalled_for() {
  auto now = Clock::now();
  Clock::duration longest{0};
  {
    std::lock_guard lock(mu_);
    if (!queue_.empty()) longest = now - queue_.front().queued;
  }
  for (std::size_t i = 0; i < threads_.size(); ++i) {
    Clock::rep since = busy_since_[i].load(std::memory_order_relaxed);
    if (since != 0) longest = std::max(longest, now - Clock::time_point(Clock::duration(since)));
  }
  return longest;
}

void Writer::run(std::size_t index) {
  name_this_thread("pg-writer");
  std::unique_ptr<Connection> db;
  std::vector<Op> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;  // closing, and everything queued is done
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    busy_since_[index].store(batch.front().queued.time_since_epoch().count(), std::memory_order_relaxed);
    commit_batch(db, batch);
    busy_since_[index].store(0, std::memory_order_relaxed);
    batch.clear();
  }
}

Writer::Run Writer::run_batch(Connection& db, std::vector<Op>& batch, std::vector<Status>& results, bool isolate) {
  Run run;
  results.assign(batch.size(), Status::ok());
  if (Rows begin = db.exec("BEGIN"); !begin.ok()) {
    run.status = begin.status();
    return run;
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (isolate) {
      if (Rows sp = db.exec("SAVEPOINT w"); !sp.ok()) {
        run.status = sp.status();
        return run;
      }
    }
    try {
      results[i] = batch[i].work(db);
    } catch (const std::exception& e) {
      results[i] = Status::internal(e.what());
    }
    if (db.broken()) {
      run.status = Status::unavailable("the database connection was lost: " + db.last_error());
      return run;
    }
    if (results[i].is_ok()) {
      if (isolate) {
        if (Rows release = db.exec("RELEASE SAVEPOINT w"); !release.ok()) {
          run.status = release.status();
          return run;
        }
      }
      continue;
    }
    if (isolate) {
      if (Rows back = db.exec("ROLLBACK TO SAVEPOINT w"); !back.ok()) {
        run.status = back.status();
        return run;
      }
      continue;
    }
    // Not isolated: the transaction is lost. Alone in its batch, a write's
    // failure is the batch's outcome, unless another writer caused it.
    run.transient = is_transient(db.last_sqlstate());
    db.exec("ROLLBACK");
    if (batch.size() == 1 && !run.transient) return run;  // status ok: results[0] says why
    run.status = results[i];
    run.write_failed = !run.transient;
    return run;
  }
  Rows commit = db.exec("COMMIT");
  if (!commit.ok()) {
    run.status = commit.status();
    run.commit_sent = db.broken();
    run.transient = is_transient(commit.sqlstate());
  }
  return run;
}

void Writer::commit_batch(std::unique_ptr<Connection>& db, std::vector<Op>& batch) {
  std::vector<Status> results;
  Status outcome = Status::unavailable("the batch was not run");
  auto started = Clock::now();
  bool isolate = false;
  for (int attempt = 0; attempt < max_runs; ++attempt) {
    if (!db || db->broken()) {
      auto c = connect(conninfo_, setup_sql_);
      if (!c.is_ok()) {
        db.reset();
        outcome = c.status();
        break;
      }
      db = std::move(c.value());
    }
    Run run = run_batch(*db, batch, results, isolate);
    outcome = run.status;
    if (outcome.is_ok()) break;
    if (db->broken()) {
      spdlog::warn("msg=\"database connection lost\" error={}", log_value(outcome.message()));
      if (run.commit_sent) break;  // it may have committed: not run again
      db.reset();                  // nothing committed: again on a new connection
      continue;
    }
    if (in_transaction(*db)) db->exec("ROLLBACK");
    if (run.write_failed && !isolate) {
      isolate = true;
      continue;
    }
    if (!run.transient) break;
  }
  if (!outcome.is_ok()) {
    for (auto& op : batch) op.done(outcome);
    return;
  }
  if (metrics_) {
    metrics_->commit_seconds.observe(std::chrono::duration<double>(Clock::now() - started).count());
    metrics_->commit_batch_size.observe(static_cast<double>(batch.size()));
  }
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(results[i]));
}

}  // namespace daisy::pg
