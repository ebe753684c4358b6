#include "util/thread_name.h"

#include <pthread.h>

namespace daisy {

void name_this_thread(const std::string& name) {
  // Linux refuses names over 15 characters (plus the NUL) rather than cut them.
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace daisy
