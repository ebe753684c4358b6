#pragma once
// What a resuming live stream missed beyond the server's ring of recent
// messages (after a restart, through another node, or more than
// --stream-ring ago): the responses stored or corrected and the events
// received since the time in its Last-Event-ID, read back from the store
// (GET /v1/stream). Other kinds (rejections, job attempts, pulls) are kept in
// the ring only.

#include <cstdint>
#include <string>

#include "live/live_filter.h"
#include "store/status.h"
#include "store/store.h"

namespace daisy::api {

struct Replay {
  std::string text;      // the messages as Server-Sent Events, oldest first
  bool complete = true;  // false: more was missed than one replay sends
};

// One message as Server-Sent Events: "id: <epoch>-<n>-<at_ms>", its type and
// its data (one line).
void append_stream_message(std::string& out, std::uint64_t epoch, const live::LiveMessage& m);

// Whether the filter takes a kind that a replay reads back.
bool replayable(const live::LiveFilter& filter);

// The messages the filter takes among what changed from a little before
// since_ms (what a request stored just before the client's last message may
// have been published after it): a client can get one twice, never miss one.
// Reads the store on the calling thread (a reader).
Result<Replay> replay_since(Store& store, const live::LiveFilter& filter, std::int64_t since_ms, std::uint64_t epoch);

}  // namespace daisy::api
