#include "store/sqlite/wal_checkpointer.h"

#include "store/sqlite/connection.h"
#include "util/thread_name.h"
#include "util/time.h"

namespace daisy::sqlite {

WalCheckpointer::WalCheckpointer(const std::string& path, Options options)
    : options_(options), connection_(std::make_unique<Connection>(path, Connection::Mode::read_write)) {
  // NORMAL in WAL mode: a checkpoint syncs the WAL before it copies frames
  // and the database file after, so a restart never overwrites frames whose
  // pages are not yet durable in the file.
  connection_->exec("PRAGMA synchronous=NORMAL");
  thread_ = std::thread([this] {
    name_this_thread("daisy-checkpoint");
    lower_this_threads_priority();
    run();
  });
}

WalCheckpointer::~WalCheckpointer() { stop(); }

void WalCheckpointer::attach(sqlite3* writer) { sqlite3_wal_hook(writer, &WalCheckpointer::on_commit, this); }

void WalCheckpointer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  connection_.reset();
}

int WalCheckpointer::on_commit(void* self_ptr, sqlite3* db, const char* name, int frames) {
  auto& self = *static_cast<WalCheckpointer*>(self_ptr);
  if (frames < self.last_frames_) self.requested_at_ = self.last_frames_ = 0;  // the WAL restarted
  const auto now = std::chrono::steady_clock::now();
  if (!self.ignore_sizes_ && frames - self.last_frames_ >= self.options_.large_commit_frames) {
    self.large_commits_until_ = now + self.options_.large_commits_for;
  }
  self.last_frames_ = frames;
  if (frames - self.requested_at_ < self.options_.checkpoint_frames) return SQLITE_OK;
  self.requested_at_ = frames;
  if (now < self.large_commits_until_ && frames < self.options_.restart_frames) {
    std::lock_guard lock(self.mu_);
    if (!self.stopping_) {
      self.wanted_ = true;
      self.cv_.notify_all();
      return SQLITE_OK;
    }
  }
  // On the writer: every checkpoint while commits are small; while they are
  // large, the frames the background checkpoints have not copied yet (few,
  // when they keep up), so that the next write can restart the WAL. A
  // background checkpoint under way holds the checkpoint lock: the writer
  // waits for it rather than fail busy again and again while the WAL grows
  // (a slow background thread let it reach 6 times restart_frames).
  {
    std::unique_lock lock(self.mu_);
    self.wanted_ = false;
    self.cv_.wait(lock, [&] { return !self.running_; });
  }
  const auto start = std::chrono::steady_clock::now();
  sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  self.writer_seconds_.observe(seconds_since(start));
  return SQLITE_OK;
}

void WalCheckpointer::run() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return wanted_ || stopping_; });
      if (stopping_) return;
      wanted_ = false;
      running_ = true;
    }
    const auto start = std::chrono::steady_clock::now();
    sqlite3_wal_checkpoint_v2(connection_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    background_seconds_.observe(seconds_since(start));
    {
      std::lock_guard lock(mu_);
      running_ = false;
    }
    cv_.notify_all();
  }
}

void WalCheckpointer::render_metrics(std::string& out) const {
  out +=
      "# HELP daisy_store_checkpoint_seconds Duration of one WAL checkpoint (copying the WAL into the database file), "
      "by the thread that ran it: the writer, or the background thread while commits are large.\n";
  out += "# TYPE daisy_store_checkpoint_seconds histogram\n";
  writer_seconds_.render(out, "daisy_store_checkpoint_seconds", "thread=\"writer\"");
  background_seconds_.render(out, "daisy_store_checkpoint_seconds", "thread=\"background\"");
}

}  // namespace daisy::sqlite
