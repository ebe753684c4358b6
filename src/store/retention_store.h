#pragma once
// Deleting what has outlived the retention an operator set
// (runtime/retention.* calls this a slice at a time). Each call is one short
// write transaction, so the writes of requests wait for at most one slice.

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>

#include "store/status.h"

namespace daisy {

// What a retention deletes, and which time it goes by:
//   events     the time Daisy received it;
//   responses  its last change (submission or correction);
//   jobs       ended ones (succeeded, dead, cancelled): when they ended.
enum class Expiring { events, responses, jobs };

struct ExpirySlice {
  std::int64_t deleted = 0;  // records deleted (events, responses or jobs)
  std::int64_t after = 0;    // where the next slice of this pass starts
  bool more = false;         // false: nothing is left for this pass to look at
};

class RetentionStore {
 public:
  virtual ~RetentionStore() = default;

  // Deletes up to `limit` of the oldest records of `what` whose time is
  // before `before_ms` (ms since the epoch), with what belongs to them:
  //   an event's index entries and client id (so a client may send that id
  //   again); events whose index entries are still in memory wait for them;
  //   a response's revisions, idempotency key and its jobs with their
  //   attempts; a response whose jobs have not all ended is kept until they
  //   have, because they deliver it;
  //   a job's attempts.
  // `after` is the previous slice's ExpirySlice::after in the same pass (0
  // at its start). A slice looks at a bounded number of rows even when it
  // deletes none.
  virtual boost::asio::awaitable<Result<ExpirySlice>> delete_expired(Expiring what, std::int64_t before_ms,
                                                                     std::int64_t after, std::size_t limit) = 0;
};

}  // namespace daisy
