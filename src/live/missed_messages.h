#pragma once
// What a resuming live stream missed beyond the server's ring of recent
// messages (after a restart, through another node, or more than
// --stream-ring ago): the responses stored or corrected and the events
// received since the time in its cursor, read back from the store. Both
// transports use it: GET /v1/stream (api/stream.cpp) and gRPC Watch
// (rpc/watch_stream.cpp). Other kinds (rejections, job attempts, pulls) are
// kept in the ring only.

#include <cstdint>
#include <vector>

#include "live/live_filter.h"
#include "live/live_message.h"
#include "store/status.h"
#include "store/store.h"

namespace daisy::live {

struct MissedMessages {
  std::vector<LiveMessage> messages;  // oldest first; n = 0: no place in any ring
  bool complete = true;               // false: more was missed than one read-back returns
};

// Whether the filter takes a kind that is read back.
bool replayable(const LiveFilter& filter);

// The messages the filter takes among what changed from a little before
// since_ms (what a request stored just before the client's last message may
// have been published after it): a client can get one twice, never miss one.
// At most 2,000 rows of each kind and 8 MiB of data. Reads the store on the
// calling thread: call it off the I/O threads.
Result<MissedMessages> read_missed(Store& store, const LiveFilter& filter, std::int64_t since_ms);

}  // namespace daisy::live
