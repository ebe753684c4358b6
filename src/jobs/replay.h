#pragma once
// Replaying an integration, without HTTP: a new job for each response
// received (a form's integration) or event that happened (an app's) in
// [since, until), as if the record had just landed; the payload is the
// record as it is now. A front end (api/integrations.cpp) turns its request
// into a call here and the outcome into its reply.

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "jobs/integration_registry.h"
#include "store/event_store.h"
#include "store/form_store.h"
#include "store/job_store.h"
#include "util/read_runner.h"

namespace daisy::jobs {

class JobRunner;

// At most this many jobs per replay: a larger range is refused whole.
inline constexpr std::size_t max_replay_jobs = 100'000;

struct ReplayServices {
  JobStore& jobs;
  FormStore& forms;
  EventStore& events;
  const IntegrationRegistry& integrations;
  JobRunner* runner = nullptr;  // woken when jobs were made
  ReadRunner run_read;          // empty: the pages are read on the caller's thread
};

struct ReplayRange {
  std::string integration_id;
  std::int64_t since_ns = 0, until_ns = 0;  // since < until
};

struct Replayed {
  std::size_t jobs = 0;
};

struct ReplayRefusal {
  enum class Kind {
    not_found,     // no such integration
    disabled,      // the integration is disabled
    too_many,      // the range holds more than max_replay_jobs records
    busy,          // the readers refused a page (run_read)
    store_failed,  // status says why; detail names what was read or written
  };
  Kind kind = Kind::store_failed;
  Status status;
  std::string detail;
};

using ReplayOutcome = std::variant<Replayed, ReplayRefusal>;

// Reads the range page by page through run_read (or on the calling
// coroutine's executor, letting its other work run between pages); stores
// the jobs in slices, so one replay does not hold the writer for long.
boost::asio::awaitable<ReplayOutcome> replay(ReplayServices services, ReplayRange range);

}  // namespace daisy::jobs
