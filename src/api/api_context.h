#pragma once
// What the route handlers share: the store, the authenticator and the
// process-wide settings they need. Owned by the server's main.

#include <chrono>
#include <cstddef>
#include <string>

#include "auth/authenticator.h"
#include "store/store.h"

namespace daisy {
class Metrics;
class WorkerPool;
class KeyRateLimiter;
namespace http {
using ReaderPool = WorkerPool;
}
namespace events {
struct EventsState;
}
namespace feeds {
class FeedService;
}
namespace forms {
class FormCache;
}
namespace live {
class LiveBus;
}
namespace jobs {
class IntegrationRegistry;
class JobRunner;
}  // namespace jobs
}  // namespace daisy

namespace daisy::api {

struct ApiContext {
  Store& store;
  Authenticator& auth;
  Metrics* metrics = nullptr;
  forms::FormCache* forms = nullptr;
  events::EventsState* events = nullptr;
  feeds::FeedService* feeds = nullptr;
  jobs::IntegrationRegistry* integrations = nullptr;
  jobs::JobRunner* job_runner = nullptr;  // woken after writes that made jobs
  // Where handlers that are coroutines run their heavy reads (routes marked
  // heavy_read() are run there by the dispatcher); null: on the I/O thread.
  http::ReaderPool* readers = nullptr;
  live::LiveBus* live = nullptr;  // GET /v1/stream; null: streams are off
  std::chrono::steady_clock::duration live_heartbeat = std::chrono::seconds(15);
  // Non-empty: the console's files are read from this directory on each
  // request (development) instead of the copies built into the binary.
  std::string console_dir{};
  KeyRateLimiter* key_limits = nullptr;  // publishable keys' buckets; null: unlimited
};

}  // namespace daisy::api
