#include "util/thread_name.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace daisy {

void name_this_thread(const std::string& name) {
  // Linux refuses names over 15 characters (plus the NUL) rather than cut them.
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

void lower_this_threads_priority() {
  // On Linux the nice value is per thread, set through its thread id.
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
}

}  // namespace daisy
