#include "store/postgres/pg_writer.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "observability/metrics.h"
#include "store/postgres/pg_pool.h"
#include "util/thread_name.h"

namespace daisy::pg {

Writer::Writer(std::string conninfo, std::string setup_sql, std::size_t threads, Metrics* metrics,
               std::size_t max_batch)
    : conninfo_(std::move(conninfo)), setup_sql_(std::move(setup_sql)), metrics_(metrics), max_batch_(max_batch) {
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

Writer::~Writer() { close(); }

void Writer::submit(Work work, Done done) {
  {
    std::lock_guard lock(mu_);
    if (!closing_) {
      queue_.push_back({std::move(work), std::move(done)});
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

void Writer::run() {
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
    commit_batch(db, batch);
    batch.clear();
  }
}

Status Writer::run_batch(Connection& db, std::vector<Op>& batch, std::vector<Status>& results, bool isolate) {
  results.assign(batch.size(), Status::ok());
  Rows begin = db.exec("BEGIN");
  if (!begin.ok()) return begin.status();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (isolate) {
      Rows sp = db.exec("SAVEPOINT w");
      if (!sp.ok()) return sp.status();
    }
    try {
      results[i] = batch[i].work(db);
    } catch (const std::exception& e) {
      results[i] = Status::internal(e.what());
    }
    if (db.broken()) return Status::unavailable("the database connection was lost: " + db.last_error());
    if (!results[i].is_ok()) {
      if (!isolate) {
        db.exec("ROLLBACK");
        // Alone in its batch: its failure is the batch's whole outcome.
        if (batch.size() == 1) return Status::ok();
        return Status::conflict("retry isolated");
      }
      Rows back = db.exec("ROLLBACK TO SAVEPOINT w");
      if (!back.ok()) return back.status();
    } else if (isolate) {
      Rows release = db.exec("RELEASE SAVEPOINT w");
      if (!release.ok()) return release.status();
    }
  }
  Rows commit = db.exec("COMMIT");
  return commit.ok() ? Status::ok() : commit.status();
}

void Writer::commit_batch(std::unique_ptr<Connection>& db, std::vector<Op>& batch) {
  std::vector<Status> results;
  Status outcome = Status::ok();
  if (!db || db->broken()) {
    auto c = connect(conninfo_, setup_sql_);
    if (c.is_ok()) {
      db = std::move(c.value());
    } else {
      db.reset();
      outcome = c.status();
    }
  }
  auto started = std::chrono::steady_clock::now();
  if (db) {
    outcome = run_batch(*db, batch, results, false);
    // A write failed: the batch again, each write on its own. A deadlock or
    // serialization failure with another writer: the batch again, once.
    if (!outcome.is_ok() && !db->broken()) {
      if (PQtransactionStatus(db->handle()) != PQTRANS_IDLE) db->exec("ROLLBACK");
      outcome = run_batch(*db, batch, results, true);
      if (!outcome.is_ok() && !db->broken() && PQtransactionStatus(db->handle()) != PQTRANS_IDLE) {
        db->exec("ROLLBACK");
      }
    }
  }
  if (!outcome.is_ok()) {
    if (db && db->broken()) spdlog::warn("msg=\"database connection lost\" error=\"{}\"", db->last_error());
    for (auto& op : batch) op.done(outcome);
    return;
  }
  if (metrics_) {
    metrics_->commit_seconds.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    metrics_->commit_batch_size.observe(static_cast<double>(batch.size()));
  }
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(results[i]));
}

}  // namespace daisy::pg
