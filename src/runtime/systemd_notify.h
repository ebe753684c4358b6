#pragma once
// Telling systemd how the service is doing (Type=notify units, sd_notify(3)):
// READY=1 once the store answers and the port is open, STOPPING=1 when a
// stop begins, and WATCHDOG=1 while every I/O thread is alive, when the unit
// sets WatchdogSec. Outside systemd (no NOTIFY_SOCKET) each call does nothing.

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace daisy {

class SystemdNotifier {
 public:
  SystemdNotifier() = default;
  ~SystemdNotifier();
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  // Ready, with a status line. When the unit has a watchdog, pings it from
  // then on at half its interval as long as alive(half the interval) is true
  // (a stuck process is then restarted by systemd).
  void ready(const std::string& status, std::function<bool(std::chrono::milliseconds)> alive);
  void stopping();
  // Ends the pings (before what alive() reads is destroyed).
  void stop_watchdog();

 private:
  void start_watchdog(std::function<bool(std::chrono::milliseconds)> alive);
  std::atomic<bool> stop_{false};
  std::thread watchdog_;
};

}  // namespace daisy
