#include "live/stream_cursor.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <system_error>

#include "util/append.h"

namespace daisy::live {

void append_cursor(std::string& out, std::uint64_t epoch, const LiveMessage& m) {
  append_decimal(out, epoch);
  out += '-';
  append_decimal(out, m.n);
  out += '-';
  append_decimal(out, static_cast<std::uint64_t>(std::max<std::int64_t>(m.at_ms, 0)));
}

std::optional<ResumePoint> read_cursor(std::string_view id, std::uint64_t epoch) {
  std::uint64_t parts[3] = {0, 0, 0};
  std::size_t count = 0;
  while (count < 3) {
    auto dash = id.find('-');
    std::string_view part = id.substr(0, dash);
    auto r = std::from_chars(part.data(), part.data() + part.size(), parts[count]);
    if (part.empty() || r.ec != std::errc{} || r.ptr != part.data() + part.size()) return std::nullopt;
    ++count;
    if (dash == std::string_view::npos) break;
    id.remove_prefix(dash + 1);
    if (count == 3) return std::nullopt;
  }
  if (count < 2) return std::nullopt;
  ResumePoint point;
  bool here = parts[0] == epoch && parts[1] != 0;
  point.after = here ? parts[1] : std::numeric_limits<std::uint64_t>::max();
  if (count == 3) point.at_ms = static_cast<std::int64_t>(parts[2]);
  return point;
}

}  // namespace daisy::live
