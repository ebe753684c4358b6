#pragma once
// A value from outside Daisy (an error text, a reply excerpt, a feed field,
// a name) in a log line. Formatted as a logfmt value: quoted when needed,
// with quotes and backslashes escaped and control characters, bidirectional
// controls and bytes that are not UTF-8 written as escapes, so that no value
// can start a new line, forge a field or move the terminal's cursor.
//
//   spdlog::warn("msg=\"pull failed\" error={}", log_value(error));

#include <fmt/format.h>

#include <string>
#include <string_view>

#include "observability/access_log.h"

namespace daisy {

struct LogValue {
  std::string_view text;
};

inline LogValue log_value(std::string_view text) { return LogValue{text}; }

}  // namespace daisy

template <>
struct fmt::formatter<daisy::LogValue> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const daisy::LogValue& v, FormatContext& ctx) const {
    std::string out;
    daisy::append_logfmt_value(out, v.text);
    return fmt::formatter<std::string_view>::format(std::string_view(out), ctx);
  }
};
