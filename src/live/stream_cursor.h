#pragma once
// A live message's place, as both transports hand it to clients (GET
// /v1/stream's event ids, gRPC Watch's cursors): "<epoch>-<n>-<ms>", the
// process, the message's place in its ring, and when it was published. A
// client that sends it back resumes right after that message while the ring
// still holds what followed.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "live/live_message.h"

namespace daisy::live {

void append_cursor(std::string& out, std::uint64_t epoch, const LiveMessage& m);

struct ResumePoint {
  std::optional<std::uint64_t> after;  // the place in this process's ring; max when not of this process
  std::optional<std::int64_t> at_ms;   // when that message was published (ids of old servers have none)
};

// nullopt when malformed. "<epoch>-<n>" (an earlier version's) is read too.
// Another epoch, or n = 0 (a message read back from the store), is no place
// in this ring: the stream then resumes from the store.
std::optional<ResumePoint> read_cursor(std::string_view cursor, std::uint64_t epoch);

}  // namespace daisy::live
