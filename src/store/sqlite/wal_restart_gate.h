#pragma once
// Lets the WAL restart while scans overlap without pause.
//
// SQLite restarts the WAL from its beginning only when a write begins at a
// moment when every frame has been checkpointed and no read transaction
// holds a snapshot in the WAL. Scans run in slices, each its own read
// transaction, but several scans in a loop overlap so that such a moment
// never comes: the WAL grew by the whole write rate (past 100 MiB within a
// minute beside 15k events/s), and once past the file's old end each append
// cost the file system an allocation (the writer's writes of WAL frames took
// 2-6 ms each, strace, 2026-12-07).
//
// So once the WAL is long, the writer asks for a restart, and scans wait
// before their next slice until it has happened: the slices under way end
// within their length, then the WalCheckpointer copies what is left and the
// next commit restarts the WAL. Commits never wait for readers; a scan
// waits at most max_wait per slice, and not at all once the writer has gone
// quiet (no commit would restart the WAL).
//
// Threads: ask(), restarted(), scans_within() and slices_under_way() on the
// writer (its WAL hook), before_slice() and after_slice() on any reader.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace daisy::sqlite {

class WalRestartGate {
 public:
  explicit WalRestartGate(std::chrono::milliseconds max_wait = std::chrono::milliseconds(50));

  // At a commit that left the WAL long: hold new slices back.
  void ask();
  // At the first commit after the WAL restarted: let them go.
  void restarted();
  // True from ask() until restarted().
  bool asked() const { return asked_.load(std::memory_order_acquire); }
  // Before a scan's slice begins its read transaction: while a restart is
  // asked and the writer asked within max_wait, waits for it, at most
  // max_wait. Each before_slice() is followed by one after_slice(), once
  // the slice's read transaction has ended.
  void before_slice();
  void after_slice() { under_way_.fetch_sub(1, std::memory_order_acq_rel); }
  // Whether a slice began within `window`.
  bool scans_within(std::chrono::milliseconds window) const;
  // Slices between before_slice() and after_slice().
  int slices_under_way() const { return under_way_.load(std::memory_order_acquire); }

 private:
  const std::chrono::milliseconds max_wait_;
  std::atomic<bool> asked_{false};
  std::atomic<int> under_way_{0};
  std::atomic<std::chrono::steady_clock::rep> last_slice_{0};  // steady_clock ticks at the last before_slice()
  std::mutex mu_;
  std::condition_variable cv_;
  std::chrono::steady_clock::time_point asked_at_{};  // the last ask(), under mu_
};

}  // namespace daisy::sqlite
