#include "observability/access_log.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "observability/log_value.h"
#include "test_support.h"

namespace {

using namespace daisy;

std::string logfmt(std::string_view v) {
  std::string out;
  append_logfmt_value(out, v);
  return out;
}

// Splits one logfmt line into ordered key/raw-value pairs (quotes kept).
std::vector<std::pair<std::string, std::string>> split_logfmt(const std::string& line) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 0;
  while (i < line.size()) {
    std::size_t eq = line.find('=', i);
    if (eq == std::string::npos) break;
    std::string key = line.substr(i, eq - i);
    std::size_t j = eq + 1;
    if (j < line.size() && line[j] == '"') {
      ++j;
      while (j < line.size() && line[j] != '"') j += line[j] == '\\' ? 2 : 1;
      ++j;
    } else {
      while (j < line.size() && line[j] != ' ') ++j;
    }
    out.emplace_back(key, line.substr(eq + 1, j - eq - 1));
    i = j + 1;
  }
  return out;
}

TEST(Logfmt, PlainValuesAreNotQuoted) {
  EXPECT_EQ(logfmt("GET"), "GET");
  EXPECT_EQ(logfmt("/v1/apps?limit=5"), "\"/v1/apps?limit=5\"");  // has '='
  EXPECT_EQ(logfmt("/v1/apps/0193"), "/v1/apps/0193");
  EXPECT_EQ(logfmt("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 passes through
}

TEST(Logfmt, QuotesAndEscapesWhenNeeded) {
  EXPECT_EQ(logfmt(""), "\"\"");
  EXPECT_EQ(logfmt("a b"), "\"a b\"");
  EXPECT_EQ(logfmt("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(logfmt("a=b"), "\"a=b\"");
  EXPECT_EQ(logfmt("back\\slash"), "\"back\\\\slash\"");
  EXPECT_EQ(logfmt("\x01"), "\"\\x01\"");
  EXPECT_EQ(logfmt("tab\there"), "\"tab\\x09here\"");
  EXPECT_EQ(logfmt("line\nbreak"), "\"line\\x0abreak\"");
  EXPECT_EQ(logfmt("del\x7f"), "\"del\\x7f\"");
  EXPECT_EQ(logfmt(std::string("nul\0", 4)), "\"nul\\x00\"");
}

// Values from outside cannot start a line, move the cursor or reorder text.
TEST(Logfmt, HiddenControlsAndInvalidBytesAreEscaped) {
  EXPECT_EQ(logfmt("a\nlevel=critical msg=forged"), "\"a\\x0alevel=critical msg=forged\"");
  EXPECT_EQ(logfmt("a\r\nb"), "\"a\\x0d\\x0ab\"");
  EXPECT_EQ(logfmt("\x1b[31mred\x1b[0m"), "\"\\x1b[31mred\\x1b[0m\"");
  EXPECT_EQ(logfmt("x\xc2\x85y"), "\"x\\u0085y\"");  // NEL, a C1 control
  EXPECT_EQ(logfmt("x\xc2\x9b"
                   "31m"),
            "\"x\\u009b31m\"");                                    // CSI, a C1 control
  EXPECT_EQ(logfmt("exe.\xe2\x80\xaetxt"), "\"exe.\\u202etxt\"");  // right-to-left override
  EXPECT_EQ(logfmt("a\xe2\x80\xa8"
                   "b"),
            "\"a\\u2028b\"");  // line separator
  EXPECT_EQ(logfmt("bad\xff\xfe"), "\"bad\\xff\\xfe\"");
  EXPECT_EQ(logfmt("cut\xe2\x80"), "\"cut\\xe2\\x80\"");
  EXPECT_EQ(logfmt("caf\xc3\xa9 ok"), "\"caf\xc3\xa9 ok\"");
}

TEST(Logfmt, LogValueFormatsAsAnEscapedValue) {
  EXPECT_EQ(fmt::format("error={}", log_value("plain")), "error=plain");
  EXPECT_EQ(fmt::format("error={}", log_value("two words")), "error=\"two words\"");
  EXPECT_EQ(fmt::format("error={}", log_value("x\" level=critical\ny")), "error=\"x\\\" level=critical\\x0ay\"");
  EXPECT_EQ(fmt::format("error={}", log_value("")), "error=\"\"");
}

TEST(AccessLine, HasEveryKeyInOrder) {
  AccessRecord r;
  r.request_id = "req-1";
  r.method = "POST";
  r.target = "/v1/apps?x=a b";
  r.route = "/v1/apps";
  r.status = 201;
  r.duration_ms = 12.5;
  r.bytes_in = 321;
  r.bytes_out = 654;
  r.principal = "admin";
  r.remote = "127.0.0.1";
  std::string out = "previous\n";
  append_access_line(out, r);
  ASSERT_EQ(out.rfind("previous\n", 0), 0u) << "appends, does not replace";
  std::string line = out.substr(9);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line";
  line.pop_back();

  auto pairs = split_logfmt(line);
  std::vector<std::string> keys;
  for (const auto& [k, v] : pairs) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"ts", "level", "msg", "request_id", "method", "target", "route", "status",
                                            "duration_ms", "bytes_in", "bytes_out", "principal", "remote"}));
  std::map<std::string, std::string> v(pairs.begin(), pairs.end());
  EXPECT_TRUE(daisy::test::matches_shape(v["ts"], "####-##-##T##:##:##.###Z")) << v["ts"];
  EXPECT_EQ(v["level"], "info");
  EXPECT_EQ(v["msg"], "request");
  EXPECT_EQ(v["request_id"], "req-1");
  EXPECT_EQ(v["method"], "POST");
  EXPECT_EQ(v["target"], "\"/v1/apps?x=a b\"");
  EXPECT_EQ(v["route"], "/v1/apps");
  EXPECT_EQ(v["status"], "201");
  EXPECT_EQ(v["duration_ms"], "12.500");
  EXPECT_EQ(v["bytes_in"], "321");
  EXPECT_EQ(v["bytes_out"], "654");
  EXPECT_EQ(v["principal"], "admin");
  EXPECT_EQ(v["remote"], "127.0.0.1");
}

TEST(AccessLine, EmptyRouteIsDashAndEmptyValuesAreQuoted) {
  AccessRecord r;
  r.method = "-";
  r.status = 431;
  r.principal = "-";
  std::string out;
  append_access_line(out, r);
  EXPECT_NE(out.find(" request_id=\"\" "), std::string::npos) << out;
  EXPECT_NE(out.find(" target=\"\" "), std::string::npos) << out;
  EXPECT_NE(out.find(" route=- "), std::string::npos) << out;
  EXPECT_NE(out.find(" status=431 duration_ms=0.000 bytes_in=0 bytes_out=0 "), std::string::npos) << out;
  EXPECT_NE(out.find(" remote=\"\"\n"), std::string::npos) << out;
}

TEST(AccessLine, LongTargetsAreCutAt512Bytes) {
  std::string target = "/" + std::string(1000, 'a');
  AccessRecord r;
  r.target = target;
  std::string out;
  append_access_line(out, r);
  EXPECT_NE(out.find(" target=/" + std::string(511, 'a') + " route="), std::string::npos);
  EXPECT_EQ(out.find(std::string(512, 'a')), std::string::npos);
}

TEST(AccessLine, HostileValuesCannotForgeKeys) {
  AccessRecord r;
  r.request_id = "x";
  r.target = "/a status=200 principal=admin\nts=forged";
  r.principal = "app:0193";
  std::string out;
  append_access_line(out, r);
  EXPECT_EQ(out.find('\n'), out.size() - 1);
  auto pairs = split_logfmt(out.substr(0, out.size() - 1));
  int statuses = 0;
  for (const auto& [k, v] : pairs) statuses += k == "status";
  EXPECT_EQ(statuses, 1);
  EXPECT_EQ(pairs.back().first, "remote");
}

}  // namespace
