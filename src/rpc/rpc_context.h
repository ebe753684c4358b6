#pragma once
// What the gRPC methods share: the same store, authenticator and subsystems
// as the HTTP API's handlers (api/api_context.h), owned by the server's main.

#include <cstddef>

#include "auth/authenticator.h"
#include "store/store.h"

namespace daisy {
namespace events {
struct EventsState;
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

namespace daisy::rpc {

struct RpcContext {
  Store& store;
  Authenticator& auth;
  forms::FormCache& forms;
  events::EventsState& events;
  const jobs::IntegrationRegistry* integrations = nullptr;
  jobs::JobRunner* job_runner = nullptr;
  live::LiveBus* live = nullptr;
  // Calls (and stream messages) being worked on, all connections together;
  // past it, RESOURCE_EXHAUSTED (as HTTP's 503 overloaded).
  std::size_t max_in_flight = 4096;
};

}  // namespace daisy::rpc
