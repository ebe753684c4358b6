#pragma once
// The readers: a bounded pool of threads that runs the reads whose cost can
// exceed about a millisecond (scans, filtered listings, session and event
// queries, exports' rows, job listings), so that an I/O thread only parses,
// dispatches and writes, and a broad query never makes the other connections
// of its thread wait.
//
// Contract:
// - run() queues the work and suspends the caller; the work runs on a reader
//   thread and the caller resumes on its own executor once it has run.
// - Admission is bounded: past max_queued waiting works, run() refuses at
//   once (queue_full). A work that waited longer than max_wait is not run
//   (waited_too_long): its client has likely given up, and running it would
//   only lengthen the queue. A continuation (the next part of a reply already
//   started) is always admitted and never expires.
// - The readers run at a lower priority (nice 10) than the I/O threads, so
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

namespace daisy::http {

struct ReaderPoolSettings {
  unsigned threads = 2;
  std::size_t max_queued = 64;
  std::chrono::milliseconds max_wait{2000};
  bool lower_priority = true;
};

class ReaderPool {
 public:
  enum class Outcome { ran, queue_full, waited_too_long };

  explicit ReaderPool(ReaderPoolSettings settings);
  ~ReaderPool();
  ReaderPool(const ReaderPool&) = delete;
  ReaderPool& operator=(const ReaderPool&) = delete;

  // Runs `work` on a reader (see the contract above). `work` must not throw
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
  void reader_loop(unsigned index);

  ReaderPoolSettings settings_;
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

}  // namespace daisy::http
