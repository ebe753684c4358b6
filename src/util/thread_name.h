#pragma once
// Names the calling thread as top -H, perf and gdb show it (at most 15
// characters kept), so an operator can tell the writer from an I/O thread.

#include <string>

namespace daisy {

void name_this_thread(const std::string& name);

// Lowers the calling thread's scheduling priority (nice 10): for background
// work that must yield the CPU to the request path when both want it.
void lower_this_threads_priority();

}  // namespace daisy
