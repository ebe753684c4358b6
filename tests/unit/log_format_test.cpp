#include "observability/log_format.h"

#include "observability/log_value.h"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>
#include <boost/json.hpp>

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

namespace json = boost::json;

json::object parsed(std::string_view line) {
  boost::system::error_code ec;
  json::value v = json::parse(line, ec);
  EXPECT_FALSE(ec) << line;
  EXPECT_TRUE(v.is_object()) << line;
  return v.is_object() ? v.get_object() : json::object{};
}

TEST(LogFormatJson, PairsBecomeFieldsAndPlainNumbersNumbers) {
  json::object o = parsed(daisy::logfmt_to_json(
      R"(ts=2026-01-01T00:00:00.000Z level=info msg="sync action" status=200 duration_ms=1.250 id=0123 n=-7)"));
  EXPECT_EQ(o.at("ts"), "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(o.at("level"), "info");
  EXPECT_EQ(o.at("msg"), "sync action");
  EXPECT_EQ(o.at("status"), 200);
  EXPECT_EQ(o.at("duration_ms"), 1.25);
  EXPECT_EQ(o.at("id"), "0123") << "a leading zero is not a number: ids stay text";
  EXPECT_EQ(o.at("n"), -7);
}

// What log_value() escaped comes back as the text it stood for, or as the
// visible escape when it was not text; nothing can end the object early.
TEST(LogFormatJson, EscapedValuesRoundTripAndStayOnOneLine) {
  std::string line = "msg=x value=" + fmt::format("{}", daisy::log_value("a \"q\" \\ \n\x1b[2J \xff end")) +
                     " bidi=" + fmt::format("{}", daisy::log_value("x\u202ey"));
  std::string text = daisy::logfmt_to_json(line);
  EXPECT_EQ(text.find('\n'), std::string::npos) << text;
  json::object o = parsed(text);
  EXPECT_EQ(o.at("value"), "a \"q\" \\ \n\x1b[2J \\xff end") << text;
  EXPECT_EQ(o.at("bidi"), "x\\u202ey") << text;
}

TEST(LogFormatJson, TextThatIsNotPairsIsKeptWhole) {
  json::object o = parsed(daisy::logfmt_to_json("ts=1 level=warn something happened: a=b"));
  EXPECT_EQ(o.at("ts"), 1);
  EXPECT_EQ(o.at("level"), "warn");
  EXPECT_EQ(o.at("msg"), "something happened: a=b");
  json::object unclosed = parsed(daisy::logfmt_to_json(R"(msg=x v="no end)"));
  EXPECT_EQ(unclosed.at("msg"), "x");
  EXPECT_EQ(unclosed.at("text"), R"(v="no end)");
  EXPECT_EQ(parsed(daisy::logfmt_to_json("")).size(), 0u);
}

TEST(LogFormatJson, TheSpdlogFormatterWritesOneObjectPerLine) {
  daisy::set_log_format(daisy::LogFormat::json);
  std::string line = log_line("a\nb");
  daisy::set_log_format(daisy::LogFormat::logfmt);
  ASSERT_EQ(line.find('\n'), line.size() - 1) << line;
  json::object o = parsed(std::string_view(line).substr(0, line.size() - 1));
  EXPECT_EQ(o.at("level"), "info");
  EXPECT_EQ(o.at("msg"), "x");
  EXPECT_EQ(o.at("value"), "a\\x0ab") << "a bare value keeps the escape the logfmt line had";
  EXPECT_TRUE(o.at("ts").as_string().ends_with("Z")) << line;
}

}  // namespace
