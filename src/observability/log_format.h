#pragma once
// The format of Daisy's own log lines (everything but the access lines, which
// the server writes itself): `ts=... level=... <message>`, one line per
// message. As a last defence behind log_value(), control bytes that reach a
// message anyway (a value logged without log_value) are written as \xNN, so
// no message can end its line early or start another.

#include <spdlog/formatter.h>

#include <memory>

namespace daisy {

std::unique_ptr<spdlog::formatter> make_log_formatter();

}  // namespace daisy
