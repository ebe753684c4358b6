#pragma once
// The text form in which nodes sharing a PostgreSQL database pass live
// messages and their interest to each other (runtime/pg_live_relay): one JSON
// object per line.
//   a message:  {"k":"response.created","a":app,"f":form,"c":category,"i":integration,"d":<data>}
//   interest:   {"want":["event.created",...]}  this node has streams for these kinds

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "live/live_message.h"

namespace daisy::live {

// A set of kinds, bit (1 << kind).
using KindMask = std::uint32_t;

void append_wire_message(const LiveMessage& m, std::string& out);  // ends with '\n'
void append_wire_interest(KindMask kinds, std::string& out);       // ends with '\n'

struct WireLine {
  std::optional<LiveMessage> message;  // n unset
  std::optional<KindMask> interest;
};

// One line (without its '\n'); nullopt when it is neither form (a newer
// node's line, or damage): the caller skips it.
std::optional<WireLine> parse_wire_line(std::string_view line);

}  // namespace daisy::live
