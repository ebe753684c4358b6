#pragma once
// Gives memory that the allocator holds free back to the operating system.
// After a burst of large request bodies or replies, tcmalloc keeps the freed
// spans in its page heap for reuse, so the process stays as large as the
// burst made it. A thread looks every second and returns the free spans once
// more than `threshold_bytes` lie free. Without tcmalloc (the sanitizer
// build) it does nothing.

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

namespace daisy {

class MemoryReleaser {
 public:
  explicit MemoryReleaser(std::size_t threshold_bytes = 32 * 1024 * 1024);
  ~MemoryReleaser();
  MemoryReleaser(const MemoryReleaser&) = delete;
  MemoryReleaser& operator=(const MemoryReleaser&) = delete;

  // True when the allocator in use can report and release its free memory.
  static bool supported();
  // Free bytes the allocator holds in its page heap (0 when unsupported).
  static std::size_t free_bytes();

 private:
  void run();

  std::size_t threshold_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace daisy
