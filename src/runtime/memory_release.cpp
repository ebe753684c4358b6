#include "runtime/memory_release.h"

#include <chrono>

#include "util/thread_name.h"

// gperftools' C interface, resolved at run time: present when the binary is
// linked with tcmalloc (the server), absent elsewhere (tests, sanitizers).
extern "C" {
int MallocExtension_GetNumericProperty(const char* property, std::size_t* value) __attribute__((weak));
void MallocExtension_ReleaseFreeMemory() __attribute__((weak));
}

namespace daisy {

bool MemoryReleaser::supported() {
  return MallocExtension_GetNumericProperty != nullptr && MallocExtension_ReleaseFreeMemory != nullptr;
}

std::size_t MemoryReleaser::free_bytes() {
  std::size_t value = 0;
  if (!supported() || !MallocExtension_GetNumericProperty("tcmalloc.pageheap_free_bytes", &value)) return 0;
  return value;
}

MemoryReleaser::MemoryReleaser(std::size_t threshold_bytes) : threshold_(threshold_bytes) {
  if (supported()) thread_ = std::thread([this] { run(); });
}

MemoryReleaser::~MemoryReleaser() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MemoryReleaser::run() {
  name_this_thread("daisy-memory");
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
    if (free_bytes() > threshold_) MallocExtension_ReleaseFreeMemory();
  }
}

}  // namespace daisy
