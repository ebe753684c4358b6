#include "observability/log_format.h"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

namespace {

std::string log_line(std::string_view message) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
  spdlog::logger logger("test", sink);
  logger.set_formatter(daisy::make_log_formatter());
  logger.info("msg=\"x\" value={}", message);
  return out.str();
}

TEST(LogFormat, OneLineWithTimeAndLevel) {
  std::string line = log_line("plain");
  EXPECT_EQ(line.rfind("ts=", 0), 0u) << line;
  EXPECT_NE(line.find("Z level=info msg=\"x\" value=plain\n"), std::string::npos) << line;
}

// A value logged without log_value() still cannot start a line of its own.
TEST(LogFormat, ControlBytesInAMessageAreEscaped) {
  std::string line = log_line("a\nts=2020-01-01T00:00:00.000Z level=critical msg=forged\r\x1b[2J");
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_EQ(line.find('\r'), std::string::npos) << line;
  EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
  EXPECT_NE(line.find("value=a\\x0ats=2020"), std::string::npos) << line;
  EXPECT_NE(line.find("\\x0d\\x1b[2J"), std::string::npos) << line;
}

}  // namespace
