#include "runtime/systemd_notify.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <string>

#include "util/thread_name.h"

namespace daisy {

SystemdNotifier::~SystemdNotifier() { stop_watchdog(); }

void SystemdNotifier::stop_watchdog() {
  stop_ = true;
  if (watchdog_.joinable()) watchdog_.join();
}

void SystemdNotifier::ready(const std::string& status, std::function<bool(std::chrono::milliseconds)> alive) {
  std::string message = "READY=1\nSTATUS=" + status;
  sd_notify(0, message.c_str());
  start_watchdog(std::move(alive));
}

void SystemdNotifier::stopping() { sd_notify(0, "STOPPING=1\nSTATUS=draining connections"); }

void SystemdNotifier::start_watchdog(std::function<bool(std::chrono::milliseconds)> alive) {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  auto interval = std::chrono::milliseconds(usec / 1000);
  spdlog::info("msg=\"systemd watchdog\" interval_ms={}", interval.count());
  watchdog_ = std::thread([this, interval, alive = std::move(alive)] {
    name_this_thread("daisy-watchdog");
    auto step = std::chrono::milliseconds(50);
    auto next = std::chrono::steady_clock::now();
    while (!stop_) {
      if (std::chrono::steady_clock::now() >= next) {
        if (alive(interval / 2)) {
          sd_notify(0, "WATCHDOG=1");
        } else {
          spdlog::warn("msg=\"an I/O thread is stuck: the systemd watchdog is not fed\"");
        }
        next = std::chrono::steady_clock::now() + interval / 2;
      }
      std::this_thread::sleep_for(step);
    }
  });
}

}  // namespace daisy
