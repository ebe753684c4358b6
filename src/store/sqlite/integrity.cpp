#include "store/sqlite/integrity.h"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace daisy::sqlite {
namespace {

// Interrupts the connection's statement at the deadline unless stopped
// first. The deadline of Connection::set_deadline runs in SQLite's progress
// handler, which is not called while PRAGMA quick_check walks a b-tree (one
// virtual-machine step for the whole check: 67 s on an 11 GiB database);
// sqlite3_interrupt, from another thread, is seen inside it.
class InterruptAt {
 public:
  InterruptAt(sqlite3* db, std::chrono::steady_clock::time_point deadline)
      : thread_([this, db, deadline] {
          std::unique_lock lock(mu_);
          if (!cv_.wait_until(lock, deadline, [this] { return done_; })) sqlite3_interrupt(db);
        }) {}
  ~InterruptAt() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  InterruptAt(const InterruptAt&) = delete;
  InterruptAt& operator=(const InterruptAt&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;  // last: started once the members it uses exist
};

}  // namespace

IntegrityVerdict check_integrity(Connection& db, bool full, std::chrono::milliseconds budget) {
  constexpr int max_lines = 10;
  IntegrityVerdict verdict;
  auto deadline = std::chrono::steady_clock::now() + budget;
  db.set_deadline(deadline);
  InterruptAt interrupt(db.handle(), deadline);
  try {
    Statement check = db.prepare_text(full ? "PRAGMA integrity_check(10)" : "PRAGMA quick_check(10)");
    int lines = 0;
    int rc;
    while ((rc = check.step()) == SQLITE_ROW) {
      std::string line = check.text(0);
      if (line == "ok") continue;
      verdict.state = IntegrityVerdict::State::corrupt;
      if (lines++ < max_lines) verdict.problems += (verdict.problems.empty() ? "" : "; ") + line;
    }
    if (rc == SQLITE_INTERRUPT) {
      verdict.state = IntegrityVerdict::State::unfinished;
    } else if (rc != SQLITE_DONE) {
      verdict.state = IntegrityVerdict::State::corrupt;
      verdict.problems += (verdict.problems.empty() ? "" : "; ") + db.last_error();
    }
  } catch (const std::exception&) {
    // Damage can stop the check before it starts (the schema cannot be read).
    int code = sqlite3_errcode(db.handle()) & 0xff;
    if (code != SQLITE_CORRUPT && code != SQLITE_NOTADB) {
      db.clear_deadline();
      throw;
    }
    verdict.state = IntegrityVerdict::State::corrupt;
    verdict.problems = db.last_error();
  }
  db.clear_deadline();
  return verdict;
}

}  // namespace daisy::sqlite
