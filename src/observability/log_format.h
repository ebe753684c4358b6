#pragma once
// The format of Daisy's log lines, its own and the access lines alike.
//
// logfmt (the default): `ts=... level=... msg=... key=value ...`, one line per
// message. As a last defence behind log_value(), control bytes that reach a
// message anyway (a value logged without log_value) are written as \xNN, so
// no message can end its line early or start another.
//
// json (--log-format json, for log shippers): the same line as one JSON
// object per line, {"ts":"...","level":"info","msg":"...","key":"value",...};
// the fields in the order written, values that are plain numbers as numbers,
// the rest as strings. Text that is not key=value pairs (a message written
// without them) becomes the "msg" field whole.

#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

namespace daisy {

enum class LogFormat { logfmt, json };

// Process-wide, set once at start-up before logging begins.
void set_log_format(LogFormat format);
LogFormat log_format();

std::unique_ptr<spdlog::formatter> make_log_formatter();

// One logfmt line (without its newline) as a JSON object (without newline).
std::string logfmt_to_json(std::string_view line);

}  // namespace daisy
