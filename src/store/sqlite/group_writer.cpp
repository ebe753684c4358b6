#include "store/sqlite/group_writer.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "observability/log_value.h"
#include "observability/metrics.h"
#include "util/thread_name.h"
#include "util/time.h"

namespace daisy::sqlite {

GroupWriter::GroupWriter(std::unique_ptr<Connection> connection, Metrics* metrics, std::size_t max_batch, Sync sync,
                         Background background)
    : connection_(std::move(connection)),
      metrics_(metrics),
      max_batch_(max_batch),
      sync_(std::move(sync)),
      background_(std::move(background)) {
  if (sync_) {
    syncer_ = std::thread([this] {
      name_this_thread("daisy-sync");
      run_syncer();
    });
  }
  thread_ = std::thread([this] {
    name_this_thread("daisy-writer");
    run();
  });
}

GroupWriter::~GroupWriter() { close(); }

void GroupWriter::submit(Work work, Done done, AfterCommit after_commit) {
  if (sync_failed_.load()) {
    done(Status::unavailable("the store stopped taking writes after a failed disk sync; restart Daisy"));
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (!closing_) {
      queue_.push_back({std::move(work), std::move(done), std::move(after_commit)});
      cv_.notify_one();
      return;
    }
  }
  done(Status::unavailable("the store is shutting down"));
}

std::size_t GroupWriter::queued() {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void GroupWriter::close() {
  {
    std::lock_guard lock(mu_);
    if (closing_ && !thread_.joinable()) return;
    closing_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(sync_mu_);
    writer_done_ = true;
    sync_cv_.notify_all();
  }
  if (syncer_.joinable()) syncer_.join();
}

void GroupWriter::run_syncer() {
  std::vector<Committed> pending;
  for (;;) {
    {
      std::unique_lock lock(sync_mu_);
      sync_cv_.wait(lock, [&] { return writer_done_ || !unsynced_.empty(); });
      if (unsynced_.empty() && writer_done_) return;
      pending.swap(unsynced_);
    }
    sync_cv_.notify_all();  // the writer may commit again
    // Every commit in `pending` returned before this sync began, so its WAL
    // frames are among those the sync makes durable.
    auto start = std::chrono::steady_clock::now();
    bool durable = sync_();
    if (metrics_) {
      metrics_->sync_seconds.observe(seconds_since(start));
    }
    if (!durable && !sync_failed_.exchange(true)) {
      // After a failed fsync the kernel may have dropped the dirty pages, and a
      // later sync can succeed without them: nothing written after this point
      // could be trusted, so writes stop until a restart recovers the WAL.
      spdlog::critical("msg=\"store sync failed: refusing every write until restart\"");
    }
    bool trusted = durable && !sync_failed_.load();
    for (auto& committed : pending) {
      for (std::size_t i = 0; i < committed.done.size(); ++i) {
        committed.done[i](trusted ? committed.results[i]
                                  : Status::unavailable("the write may not be durable: a disk sync failed"));
      }
    }
    pending.clear();
  }
}

GroupWriter::Backlog GroupWriter::run_background() {
  if (!background_) return Backlog::none;
  auto start = std::chrono::steady_clock::now();
  Backlog backlog = Backlog::none;
  try {
    backlog = background_(*connection_);
  } catch (const std::exception& e) {
    spdlog::error("msg=\"store background work failed\" error={}", log_value(e.what()));
  }
  if (metrics_ && backlog != Backlog::none) {
    metrics_->background_seconds.observe(seconds_since(start));
  }
  return backlog;
}

bool GroupWriter::closing_now() {
  std::lock_guard lock(mu_);
  return closing_;
}

void GroupWriter::run() {
  std::deque<Op> batch;
  for (;;) {
    // Runs while the sync of the last commit (if any) is under way; while it
    // is too far behind, writes wait.
    Backlog backlog = run_background();
    while (backlog == Backlog::too_much && !closing_now()) backlog = run_background();
    const bool more_background = backlog != Backlog::none;
    if (sync_) {
      // At most one commit waits for a sync to begin: while the disk is busy,
      // writes gather into the next, larger batch instead of many small
      // commits that would each rewrite the same index pages to the WAL.
      std::unique_lock lock(sync_mu_);
      sync_cv_.wait(lock, [&] { return unsynced_.empty(); });
    }
    {
      std::unique_lock lock(mu_);
      auto ready = [&] { return closing_ || !queue_.empty(); };
      if (!background_) {
        cv_.wait(lock, ready);
      } else if (!more_background) {
        cv_.wait_for(lock, std::chrono::milliseconds(250), ready);
      }
      if (queue_.empty()) {
        if (closing_) return;
        continue;
      }
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

namespace {

Status run_work(const GroupWriter::Work& work, Connection& db) {
  try {
    return work(db);
  } catch (const std::exception& e) {
    return Status::internal(e.what());
  }
}

}  // namespace

// Runs the batch in one transaction. Optimistic first: no savepoints, since
// nearly every write succeeds and a savepoint pair costs about as much as a
// small insert. If any write fails, the whole transaction is rolled back and
// the batch runs again with a savepoint per write, so the failure stays its
// own. Writes are closures over their inputs, so running one twice after a
// rollback is the same as running it once.
bool GroupWriter::run_batch(std::deque<Op>& batch, std::vector<Status>& results, bool isolate) {
  Connection& db = *connection_;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (isolate) db.run("SAVEPOINT w");
    results[i] = run_work(batch[i].work, db);
    if (results[i].is_ok()) {
      if (isolate) db.run("RELEASE w");
    } else if (isolate) {
      db.run("ROLLBACK TO w");
      db.run("RELEASE w");
    } else {
      return false;
    }
  }
  return true;
}

void GroupWriter::commit_batch(std::deque<Op>& batch) {
  auto start = std::chrono::steady_clock::now();
  Connection& db = *connection_;
  std::vector<Status> results(batch.size());
  Status batch_status;
  // A batch that changed no row (a claim with nothing due) wrote nothing to
  // the disk: its success says nothing about whether writes work again.
  const std::int64_t changes_before = sqlite3_total_changes64(db.handle());
  if (db.run("BEGIN IMMEDIATE") != SQLITE_OK) {
    batch_status = Status::unavailable("cannot begin a transaction: " + db.last_error());
  } else {
    if (!run_batch(batch, results, batch.size() == 1)) {
      db.run("ROLLBACK");
      if (db.run("BEGIN IMMEDIATE") != SQLITE_OK) {
        batch_status = Status::unavailable("cannot begin a transaction: " + db.last_error());
      } else {
        run_batch(batch, results, true);
      }
    }
    if (batch_status.is_ok() && db.run("COMMIT") != SQLITE_OK) {
      batch_status = Status::unavailable("commit failed: " + db.last_error());
      db.exec("ROLLBACK");
    }
  }
  if (!batch_status.is_ok()) spdlog::error("msg=\"store write failed\" error={}", log_value(batch_status.message()));
  bool any_unavailable = false, any_written = false;
  const bool changed_rows = sqlite3_total_changes64(db.handle()) != changes_before;
  for (const Status& r : results) {
    any_unavailable |= r.code() == Status::Code::unavailable;
    any_written |= r.is_ok() && changed_rows;
  }
  if (!batch_status.is_ok() || any_unavailable) {
    writes_failing_.store(true, std::memory_order_relaxed);
  } else if (any_written) {
    writes_failing_.store(false, std::memory_order_relaxed);
  }
  if (batch_status.is_ok()) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (!results[i].is_ok() || !batch[i].after_commit) continue;
      try {
        batch[i].after_commit();
      } catch (const std::exception& e) {
        spdlog::error("msg=\"after-commit work failed\" error={}", log_value(e.what()));
      }
    }
  }
  if (metrics_) {
    metrics_->commit_seconds.observe(seconds_since(start));
    metrics_->commit_batch_size.observe(static_cast<double>(batch.size()));
  }
  if (sync_ && batch_status.is_ok()) {
    Committed committed;
    committed.done.reserve(batch.size());
    for (auto& op : batch) committed.done.push_back(std::move(op.done));
    committed.results = std::move(results);
    std::lock_guard lock(sync_mu_);
    unsynced_.push_back(std::move(committed));
    sync_cv_.notify_all();
    return;
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    batch[i].done(batch_status.is_ok() ? results[i] : batch_status);
  }
}

}  // namespace daisy::sqlite
