#pragma once
// A bounded pool of threads for work that must not hold an I/O thread. Two
// are made: the readers (http/reader_pool.h: reads whose cost can exceed
// about a millisecond, so that a broad query never makes the other
// connections of its thread wait) and the script runners (Lua actions, which
// may wait on HTTP calls of their own).
//
// Contract:
// - run() queues the work and suspends the caller; the work runs on a reader
//   thread and the caller resumes on its own executor once it has run.
// - Admission is bounded: past max_queued waiting works, run() refuses at
//   once (queue_full). A work that waited longer than max_wait is not run
//   (waited_too_long): its client has likely given up, and running it would
//   only lengthen the queue. A continuation (the next part of a reply already
//   started) is always admitted and never expires.
// - Optionally at a lower priority (nice 10) than the I/O threads, so that
//   collection keeps the CPU when both want it.

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace daisy {

struct WorkerPoolSettings {
  std::string name = "read";            // threads are daisy-<name>-<n>
  std::string metric = "daisy_reader";  // metrics are <metric>_queued, _busy, _runs_total, _refused_total
  std::string what = "Heavy reads";     // what the works are, for the metrics' help
  unsigned threads = 2;
  std::size_t max_queued = 64;
  std::chrono::milliseconds max_wait{2000};
  bool lower_priority = true;
};

class WorkerPool {
 public:
  enum class Outcome { ran, queue_full, waited_too_long };

  explicit WorkerPool(WorkerPoolSettings settings);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs `work` on a worker (see the contract above). `work` must not throw
  // past itself: an exception it lets out is caught and rethrown to the caller.
  boost::asio::awaitable<Outcome> run(std::function<void()> work, bool continuation = false);

  // Runs what is queued, then joins the threads. run() after stop() runs the
  // work on the caller's thread.
  void stop();

  // Prometheus lines: queue depth, busy readers, works run, refusals by reason.
  void render_metrics(std::string& out) const;

 private:
  struct Task {
    std::function<void(Outcome)> finish;  // runs the work (or not) and resumes the caller
    std::chrono::steady_clock::time_point queued_at;
    bool continuation = false;
  };
  void worker_loop(unsigned index);

  WorkerPoolSettings settings_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Task> queue_;
  std::size_t admissions_queued_ = 0;  // queued works that are not continuations
  bool stopping_ = false;
  std::vector<std::thread> threads_;

  std::atomic<std::size_t> busy_{0};
  std::atomic<std::uint64_t> ran_{0};
  std::atomic<std::uint64_t> refused_full_{0};
  std::atomic<std::uint64_t> refused_waited_{0};
};

}  // namespace daisy
