// The Lua script engine (script/script.h): compiling, the environment a run
// sees (record, ctx.data read-only and lazily converted, ctx.log,
// ctx.http.request against allowed hosts), what comes back as JSON, and the
// budgets. ctx.http is given a function here; the e2e suite calls real HTTP.
#include "script/script.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <memory>
#include <string>
#include <variant>

namespace {

using daisy::Script;
using daisy::ScriptCall;
using daisy::ScriptHttpRequest;
using daisy::ScriptHttpResponse;
using daisy::ScriptLimits;
using daisy::ScriptRun;
namespace json = boost::json;

std::shared_ptr<const Script> compiled(std::string code, std::string data = "null", ScriptLimits limits = {}) {
  auto made = Script::compile(std::move(code), "run", json::parse(data), limits);
  if (auto* error = std::get_if<std::string>(&made)) {
    ADD_FAILURE() << *error;
    return nullptr;
  }
  return std::get<std::shared_ptr<const Script>>(made);
}

ScriptRun run(const Script& script, std::string record = "{}", ScriptCall call = {}) {
  return script.run(json::parse(record), call);
}

TEST(ScriptTest, CompileErrorsNameTheLine) {
  auto made = Script::compile("function run(r)\n  if then\nend", "run", nullptr);
  ASSERT_TRUE(std::holds_alternative<std::string>(made));
  EXPECT_NE(std::get<std::string>(made).find("script:2:"), std::string::npos) << std::get<std::string>(made);
  made = Script::compile("x = 1", "run", nullptr);
  ASSERT_TRUE(std::holds_alternative<std::string>(made));
  EXPECT_EQ(std::get<std::string>(made), "the code does not define function run");
  made = Script::compile("while true do end", "run", nullptr);
  ASSERT_TRUE(std::holds_alternative<std::string>(made));
  EXPECT_EQ(std::get<std::string>(made), "exceeded its instruction budget");
}

TEST(ScriptTest, TheReturnedValueBecomesJson) {
  auto script = compiled(R"(function run(r, ctx)
    return {list = {1, 2.5, "x", true}, empty = {}, nested = {a = {b = r.answers.n * 2}}, [7] = "seven"}
  end)");
  ASSERT_TRUE(script);
  ScriptRun out = run(*script, R"({"answers":{"n":21}})");
  ASSERT_TRUE(out.ok) << out.error;
  EXPECT_EQ(out.output, json::parse(R"({"list":[1,2.5,"x",true],"empty":{},"nested":{"a":{"b":42}},"7":"seven"})"));
  auto nil = compiled("function run() end");
  EXPECT_TRUE(run(*nil).output.is_null());
  auto cycle = compiled("function run() local t = {} t.t = t return t end");
  ScriptRun bad = run(*cycle);
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.error.find("run returned tables nested more than 32 deep"), std::string::npos) << bad.error;
}

TEST(ScriptTest, DataIsReadOnlyAndIterable) {
  auto script = compiled(R"(function run(r, ctx)
    local n = 0
    for k, v in pairs(ctx.data.cities) do n = n + #v end
    local ok, err = pcall(function() ctx.data.cities.paris = {} end)
    return {n = n, first = ctx.data.cities.paris[1], len = #ctx.data.cities.rome, write = err}
  end)",
                         R"({"cities":{"paris":["a","b"],"rome":["c"]}})");
  ScriptRun out = run(*script);
  ASSERT_TRUE(out.ok) << out.error;
  EXPECT_EQ(out.output.at("n"), 3);
  EXPECT_EQ(out.output.at("first"), "a");
  EXPECT_EQ(out.output.at("len"), 1);
  EXPECT_NE(json::serialize(out.output.at("write")).find("ctx.data is read-only"), std::string::npos);
}

TEST(ScriptTest, GlobalsDoNotOutliveARun) {
  auto script = compiled("count = (count or 0) + 1\nfunction run() return count end");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(run(*script).output, 1);
}

TEST(ScriptTest, LogLinesAreKeptAndBounded) {
  ScriptLimits limits;
  limits.max_log_lines = 3;
  auto script = compiled("function run(r, ctx) for i = 1, 5 do ctx.log('line', i, {}) end end", "null", limits);
  ScriptRun out = run(*script);
  ASSERT_EQ(out.logs.size(), 4u);
  EXPECT_EQ(out.logs[0].rfind("line 1 table: ", 0), 0u) << out.logs[0];
  EXPECT_EQ(out.logs[3], "(2 more lines not kept)");
}

TEST(ScriptTest, HttpReachesOnlyAllowedHosts) {
  auto script = compiled(R"(function run(r, ctx)
    local resp = ctx.http.request{method = "post", url = r.url, json = {q = 1}, timeout_ms = 100}
    return {status = resp.status, got = resp.json.got}
  end)");
  ScriptHttpRequest seen;
  ScriptCall call;
  call.allowed_hosts = {"api.example.org"};
  call.http = [&](const ScriptHttpRequest& request) {
    seen = request;
    return ScriptHttpResponse{201, {{"content-type", "application/json"}}, R"({"got":true})", ""};
  };
  ScriptRun out = run(*script, R"({"url":"https://API.example.org:8443/v1?x=1"})", call);
  ASSERT_TRUE(out.ok) << out.error;
  EXPECT_EQ(out.output, json::parse(R"({"status":201,"got":true})"));
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.body, R"({"q":1})");
  EXPECT_EQ(seen.timeout.count(), 100);
  EXPECT_EQ(out.http_calls, 1u);
  for (const char* url : {"https://other.org/", "https://api.example.org@evil.org/", "ftp://api.example.org/"}) {
    ScriptRun refused = run(*script, std::string(R"({"url":")") + url + "\"}", call);
    EXPECT_FALSE(refused.ok) << url;
    EXPECT_NE(refused.error.find("ctx.http.request"), std::string::npos) << refused.error;
  }
}

TEST(ScriptTest, BudgetsStopARunWhateverItDoes) {
  ScriptLimits limits;
  limits.instructions = 100'000;
  limits.memory_bytes = 2 * 1024 * 1024;
  auto spin = compiled("function run() while true do pcall(function() while true do end end) end end", "null", limits);
  EXPECT_EQ(run(*spin).error, "exceeded its instruction budget");
  auto grow = compiled("function run() local s, t = string.rep('x', 500000), {} for i = 1, 10 do t[i] = s .. i end end",
                       "null", limits);
  EXPECT_EQ(run(*grow).error, "exceeded its memory limit");
  // After a run that failed, the pooled state serves the next one.
  auto fine = compiled("function run() return 1 end", "null", limits);
  EXPECT_EQ(run(*fine).output, 1);
}

TEST(ScriptTest, ShortRunsAreDoneQuicklyOthersAreLeftForAWorker) {
  auto lookup = compiled("function run(r, ctx) ctx.log('looked up') return ctx.data[r.k] end", R"({"a":1})");
  auto quick = lookup->run_quickly(json::parse(R"({"k":"a"})"), {});
  ASSERT_TRUE(quick.has_value());
  EXPECT_TRUE(quick->ok) << quick->error;
  EXPECT_EQ(quick->output, 1);
  EXPECT_EQ(quick->logs.size(), 1u);

  // More instructions than the slice (within the script's budget): stopped,
  // nothing kept, and run() does it in full.
  auto loop =
      compiled("function run(r, ctx) ctx.log('start') local n = 0 for i = 1, 100000 do n = n + i end return n end");
  EXPECT_FALSE(loop->run_quickly(json::parse("{}"), {}).has_value());
  ScriptRun full = run(*loop);
  ASSERT_TRUE(full.ok) << full.error;
  EXPECT_EQ(full.output, 5000050000);
  EXPECT_GT(full.instructions, Script::quick_instructions);

  // An HTTP call is never made on the caller's thread, even under pcall.
  int calls = 0;
  ScriptCall call;
  call.allowed_hosts = {"api.example.org"};
  call.http = [&](const ScriptHttpRequest&) {
    ++calls;
    return ScriptHttpResponse{204, {}, "", ""};
  };
  auto http = compiled(R"(function run(r, ctx)
    local ok = pcall(ctx.http.request, {url = "https://api.example.org/"})
    return {ok = ok}
  end)");
  EXPECT_FALSE(http->run_quickly(json::parse("{}"), call).has_value());
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(run(*http, "{}", call).output, json::parse(R"({"ok":true})"));
  EXPECT_EQ(calls, 1);

  // A script whose own budget is smaller than the slice fails where it runs.
  ScriptLimits small;
  small.instructions = 5'000;
  auto spin = compiled("function run() while true do end end", "null", small);
  auto failed = spin->run_quickly(json::parse("{}"), {});
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->error, "exceeded its instruction budget");
}

TEST(ScriptTest, CtxIsFreshForEachRunAndDataStaysReadOnly) {
  auto script = compiled(R"(function run(r, ctx)
    local seen = {mark = ctx.mark, request = type(ctx.http.request), paris = ctx.data.cities.paris[1]}
    ctx.mark = "left by an earlier run"
    ctx.http.request = nil
    ctx.log = nil
    return seen
  end)",
                         R"({"cities":{"paris":["a","b"]}})");
  for (int i = 0; i < 3; ++i) {
    ScriptRun out = i % 2 ? run(*script) : *script->run_quickly(json::parse("{}"), {});
    ASSERT_TRUE(out.ok) << out.error;
    EXPECT_EQ(out.output, json::parse(R"({"request":"function","paris":"a"})")) << i;
  }
}

}  // namespace
