#include "store/sqlite/wal_restart_gate.h"

namespace daisy::sqlite {

WalRestartGate::WalRestartGate(std::chrono::milliseconds max_wait) : max_wait_(max_wait) {}

void WalRestartGate::ask() {
  std::lock_guard lock(mu_);
  asked_at_ = std::chrono::steady_clock::now();
  asked_.store(true, std::memory_order_release);
}

void WalRestartGate::restarted() {
  if (!asked()) return;
  {
    std::lock_guard lock(mu_);
    asked_.store(false, std::memory_order_release);
  }
  cv_.notify_all();
}

void WalRestartGate::before_slice() {
  if (asked()) {
    std::unique_lock lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    // A writer gone quiet makes no commit that would restart the WAL.
    if (now - asked_at_ < max_wait_) cv_.wait_until(lock, now + max_wait_, [&] { return !asked(); });
  }
  under_way_.fetch_add(1, std::memory_order_acq_rel);
  last_slice_.store(std::chrono::steady_clock::now().time_since_epoch().count(), std::memory_order_relaxed);
}

bool WalRestartGate::scans_within(std::chrono::milliseconds window) const {
  const auto last = std::chrono::steady_clock::time_point(
      std::chrono::steady_clock::duration(last_slice_.load(std::memory_order_relaxed)));
  return last.time_since_epoch().count() != 0 && std::chrono::steady_clock::now() - last < window;
}

}  // namespace daisy::sqlite
