#pragma once
// Formatting of the one log line written per request, in logfmt
// (key=value pairs, values quoted when needed), the same shape as every other
// Daisy log line. Lines are buffered per I/O thread and written in batches.

#include <string>
#include <string_view>

namespace daisy {

struct AccessRecord {
  std::string_view request_id;
  std::string_view method;
  std::string_view target;
  std::string_view route;
  int status = 0;
  double duration_ms = 0;
  std::size_t bytes_in = 0;
  std::size_t bytes_out = 0;
  std::string_view principal;  // "admin", "app:<id>" or "-"
  std::string_view remote;
};

void append_access_line(std::string& out, const AccessRecord& record);

// Appends value, quoted and escaped when it holds spaces, quotes, '=' or control bytes.
void append_logfmt_value(std::string& out, std::string_view value);

}  // namespace daisy
