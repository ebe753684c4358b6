#include "store/sqlite/wal_checkpointer.h"

#include "store/sqlite/connection.h"
#include "store/sqlite/wal_restart_gate.h"
#include "util/thread_name.h"
#include "util/time.h"

namespace daisy::sqlite {

WalCheckpointer::WalCheckpointer(const std::string& path, Options options, WalRestartGate* gate)
    : options_(options), gate_(gate), connection_(std::make_unique<Connection>(path, Connection::Mode::read_write)) {
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
  if (frames < self.last_frames_) {  // the WAL restarted
    self.requested_at_ = self.last_frames_ = 0;
    self.backfilled_.store(0, std::memory_order_relaxed);
    if (self.gate_) self.gate_->restarted();
  }
  const auto now = std::chrono::steady_clock::now();
  if (!self.ignore_sizes_ && frames - self.last_frames_ >= self.options_.large_commit_frames) {
    self.large_commits_until_ = now + self.options_.large_commits_for;
  }
  self.last_frames_ = frames;
  const bool long_wal = frames >= self.options_.restart_frames;
  const bool scans = self.gate_ && self.gate_->scans_within(self.options_.scans_for);
  if (long_wal && scans) {
    // New slices wait (the gate) while the WAL is long, so that a checkpoint
    // can copy every frame and the next commit restart the WAL.
    self.gate_->ask();
    // Past 4 times restart_frames the background is not catching up: the
    // writer checkpoints as without scans, the gate still holding slices back.
    if (frames < 4 * self.options_.restart_frames) return self.toward_restart(db, name, frames);
  }
  // While scans run, the writer's checkpoints could not copy past them anyway.
  const bool in_background = !long_wal && (now < self.large_commits_until_ || scans);
  return self.paced_checkpoint(db, name, frames, /*due_now=*/false, in_background);
}

int WalCheckpointer::toward_restart(sqlite3* db, const char* name, int frames) {
  // Once no slice is under way and little is left to copy, the writer
  // copies the rest itself (not while a background checkpoint is under way:
  // it would wait for it).
  const int backfilled = backfilled_.load(std::memory_order_relaxed);
  const bool no_slices = gate_->slices_under_way() == 0;
  if (no_slices && frames - backfilled <= options_.final_frames) {
    std::unique_lock lock(mu_);
    if (!running_) {
      lock.unlock();
      return checkpoint_on_writer(db, name);
    }
  }
  // Otherwise the background copies what the slices allow, paced as without
  // scans: woken at every commit, it ran 2-3 times as many checkpoints (two
  // syncs each) for the same frames (bench beside heavy reads: 1290-1432 per
  // 10 s, paced 433-759; single events' p99 the same). Woken once more when
  // the slices that held the last one back have ended.
  const bool held_back = no_slices && backfilled < requested_at_;
  return paced_checkpoint(db, name, frames, /*due_now=*/held_back, /*in_background=*/true);
}

int WalCheckpointer::paced_checkpoint(sqlite3* db, const char* name, int frames, bool due_now, bool in_background) {
  if (frames - requested_at_ < options_.checkpoint_frames && !due_now) return SQLITE_OK;
  requested_at_ = frames;
  if (in_background && wake_background()) return SQLITE_OK;
  return checkpoint_on_writer(db, name);
}

bool WalCheckpointer::wake_background() {
  std::lock_guard lock(mu_);
  if (stopping_) return false;
  wanted_ = true;
  cv_.notify_all();
  return true;
}

int WalCheckpointer::checkpoint_on_writer(sqlite3* db, const char* name) {
  // On the writer: every checkpoint while commits are small; while they are
  // large, the frames the background checkpoints have not copied yet (few,
  // when they keep up), so that the next write can restart the WAL. A
  // background checkpoint under way holds the checkpoint lock: the writer
  // waits for it rather than fail busy again and again while the WAL grows
  // (a slow background thread let it reach 6 times restart_frames).
  {
    std::unique_lock lock(mu_);
    wanted_ = false;
    cv_.wait(lock, [&] { return !running_; });
  }
  const auto start = std::chrono::steady_clock::now();
  int copied = 0;
  sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, &copied);
  if (copied >= 0) backfilled_.store(copied, std::memory_order_relaxed);
  writer_seconds_.observe(seconds_since(start));
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
    int copied = 0;
    sqlite3_wal_checkpoint_v2(connection_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, &copied);
    if (copied > 0) backfilled_.store(copied, std::memory_order_relaxed);
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
      "by the thread that ran it: the writer, or the background thread while commits are large or event queries "
      "scan.\n";
  out += "# TYPE daisy_store_checkpoint_seconds histogram\n";
  writer_seconds_.render(out, "daisy_store_checkpoint_seconds", "thread=\"writer\"");
  background_seconds_.render(out, "daisy_store_checkpoint_seconds", "thread=\"background\"");
}

}  // namespace daisy::sqlite
