#include "store/sqlite/group_writer.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "observability/metrics.h"

namespace daisy::sqlite {

GroupWriter::GroupWriter(std::unique_ptr<Connection> connection, Metrics* metrics,
                         std::size_t max_batch)
    : connection_(std::move(connection)), metrics_(metrics), max_batch_(max_batch) {
  thread_ = std::thread([this] { run(); });
}

GroupWriter::~GroupWriter() { close(); }

void GroupWriter::submit(Work work, Done done) {
  {
    std::lock_guard lock(mu_);
    if (!closing_) {
      queue_.push_back({std::move(work), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(Status::unavailable("the store is shutting down"));
}

void GroupWriter::close() {
  {
    std::lock_guard lock(mu_);
    if (closing_ && !thread_.joinable()) return;
    closing_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

void GroupWriter::run() {
  std::deque<Op> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (queue_.empty() && closing_) return;
      std::size_t n = std::min(queue_.size(), max_batch_);
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    commit_batch(batch);
    batch.clear();
  }
}

void GroupWriter::commit_batch(std::deque<Op>& batch) {
  auto start = std::chrono::steady_clock::now();
  Connection& db = *connection_;
  std::vector<Status> results(batch.size());
  Status batch_status;
  if (db.run("BEGIN IMMEDIATE") != SQLITE_OK) {
    batch_status = Status::unavailable("cannot begin a transaction: " + db.last_error());
  } else {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      db.run("SAVEPOINT w");
      try {
        results[i] = batch[i].work(db);
      } catch (const std::exception& e) {
        results[i] = Status::internal(e.what());
      }
      if (results[i].is_ok()) {
        db.run("RELEASE w");
      } else {
        db.run("ROLLBACK TO w");
        db.run("RELEASE w");
      }
    }
    if (db.run("COMMIT") != SQLITE_OK) {
      batch_status = Status::unavailable("commit failed: " + db.last_error());
      db.exec("ROLLBACK");
    }
  }
  if (!batch_status.is_ok()) spdlog::error("msg=\"store write failed\" error=\"{}\"", batch_status.message());
  if (metrics_) {
    metrics_->commit_seconds.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    metrics_->commit_batch_size.observe(static_cast<double>(batch.size()));
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    batch[i].done(batch_status.is_ok() ? results[i] : batch_status);
  }
}

}  // namespace daisy::sqlite
