// /v1/forms/{id}/responses end to end: answer checking for every question type
// and constraint, business rules and their sandbox, idempotency keys,
// corrections and revisions, listing, and app tokens.
#include <boost/json.hpp>

#include <filesystem>
#include <future>
#include <latch>
#include <map>
#include <set>

#include "harness.h"
#include "suite_support.h"

namespace daisy_e2e {
namespace {

using namespace fx;

class ResponsesTest : public SharedServer<ResponsesTest> {
 public:
  // The rules' wall-time budget is a backstop with its own unit test: these
  // tests check what the instruction and memory budgets do, which a loaded
  // machine running the sanitizer build must not turn into a time budget.
  static DaisyProcess::Options options() { return {{"--rule-time-budget-ms", "10000"}}; }

 protected:
  // A form with these questions (JSON array text) and rules (JSON array text).
  static std::string form(std::string_view questions, std::string_view rules = "[]") {
    json::object def;
    def["title"] = "responses";
    def["questions"] = J(questions);
    def["rules"] = J(rules);
    return create_form_id(server(), def);
  }

  // A form whose only rule is `check` (flag unless on_fail says otherwise).
  static std::string rule_form(std::string_view name, std::string_view check, std::string_view on_fail = "flag") {
    json::array rules;
    rules.push_back(json::object{
        {"name", name}, {"check", check}, {"message", "rule " + std::string(name) + " failed"}, {"on_fail", on_fail}});
    return form(R"([{"key":"a","type":"integer"}])", dump(rules));
  }

  // The check of rule `name` in a response body.
  static json::value check_of(const json::value& response, std::string_view name) {
    for (const auto& c : arr(response, "checks")) {
      if (str(c, "rule") == name) return c;
    }
    ADD_FAILURE() << "no check for rule " << name << " in " << dump(response);
    return nullptr;
  }

  // Some request unrelated to rules still works.
  static void expect_server_serves() {
    HttpResponse health = server().get("/healthz");
    EXPECT_EQ(health.status, 200) << health.summary();
    std::string plain = form(R"([{"key":"a","type":"integer"}])");
    ASSERT_FALSE(plain.empty());
    HttpResponse ok = submit(server(), plain, J(R"({"a":1})"));
    EXPECT_EQ(ok.status, 201) << ok.summary();
    EXPECT_EQ(str(ok.json(), "status"), "accepted");
  }
};

constexpr std::string_view kEveryType = R"([
  {"key": "short", "type": "text", "min_length": 2, "max_length": 3},
  {"key": "code", "type": "text", "pattern": "[A-Z]{3}-[0-9]+"},
  {"key": "free", "type": "text"},
  {"key": "count", "type": "integer", "min": 1, "max": 10},
  {"key": "big", "type": "integer"},
  {"key": "ratio", "type": "number", "min": -1.5, "max": 2.5},
  {"key": "flag", "type": "boolean"},
  {"key": "colour", "type": "choice", "options": ["red", "green"]},
  {"key": "tags", "type": "multi_choice", "options": ["a", "b", "c"], "min_selected": 1, "max_selected": 2},
  {"key": "any_tags", "type": "multi_choice", "options": ["a", "b"]},
  {"key": "day", "type": "date"},
  {"key": "at", "type": "datetime"},
  {"key": "mail", "type": "email"},
  {"key": "tel", "type": "phone"},
  {"key": "where", "type": "geopoint"}
])";

struct AnswerCase {
  const char* key;
  const char* value;  // JSON
};

TEST_F(ResponsesTest, EveryTypeAcceptsValidAnswers) {
  std::string id = form(kEveryType);
  ASSERT_FALSE(id.empty());
  const AnswerCase valid[] = {
      {"short", R"("ab")"},
      {"short", R"("abc")"},
      {"short", R"("héé")"},     // 3 code points, 5 bytes
      {"short", R"("日本語")"},  // 3 code points, 9 bytes
      {"short", R"("😀😀")"},      // 2 code points outside the BMP
      {"code", R"("ABC-1")"},
      {"code", R"("XYZ-0123456789")"},
      {"free", R"("")"},
      {"free", R"("anything, \"quoted\"\nacross lines")"},
      {"count", "1"},
      {"count", "10"},
      {"big", "-9007199254740991"},
      {"ratio", "-1.5"},
      {"ratio", "2.5"},
      {"ratio", "0"},
      {"ratio", "1e-3"},
      {"flag", "true"},
      {"flag", "false"},
      {"colour", R"("red")"},
      {"colour", R"("green")"},
      {"tags", R"(["a"])"},
      {"tags", R"(["c","a"])"},
      {"any_tags", "[]"},
      {"any_tags", R"(["a","b"])"},
      {"day", R"("2024-02-29")"},
      {"day", R"("2000-02-29")"},
      {"day", R"("1999-12-31")"},
      {"at", R"("2024-05-01T09:30:00Z")"},
      {"at", R"("2024-05-01T09:30:00.123456789Z")"},
      {"at", R"("2024-05-01 09:30:00.5+02:00")"},
      {"at", R"("2024-05-01T09:30:00-05:30")"},
      {"at", R"("2024-05-01T09:30:00")"},
      {"at", R"("2024-12-31T23:59:59.1Z")"},
      {"mail", R"("a.b+c@example.org")"},
      {"mail", R"("x@sub.example.co.uk")"},
      {"tel", R"("+14155552671")"},
      {"tel", R"("+442071838750")"},
      {"tel", R"("+123456789012345")"},  // 15 digits, the E.164 maximum
      {"where", R"({"lat":52.52,"lon":13.405})"},
      {"where", R"({"lat":-90,"lon":180})"},
      {"where", R"({"lon":-180,"lat":90})"},
      {"where", R"({"lat":0,"lon":0})"},
  };
  for (const auto& c : valid) {
    SCOPED_TRACE(std::string(c.key) + " = " + c.value);
    json::object answers{{c.key, J(c.value)}};
    HttpResponse r = submit(server(), id, answers);
    ASSERT_EQ(r.status, 201) << r.summary();
    EXPECT_EQ(at(r.json(), "answers"), json::value(answers));
    EXPECT_EQ(str(r.json(), "status"), "accepted");
  }
  // All at once, and nothing at all (no question is required).
  json::object all;
  for (const auto& c : valid) all[c.key] = J(c.value);
  HttpResponse r = submit(server(), id, all);
  EXPECT_EQ(r.status, 201) << r.summary();
  EXPECT_EQ(submit(server(), id, J("{}")).status, 201);
}

TEST_F(ResponsesTest, EveryConstraintRejectsInvalidAnswers) {
  std::string id = form(kEveryType);
  ASSERT_FALSE(id.empty());
  const AnswerCase invalid[] = {
      {"short", R"("a")"},
      {"short", R"("abcd")"},
      {"short", R"("héééé")"},
      {"short", "12"},
      {"short", R"(["ab"])"},
      {"code", R"("ABC-")"},
      {"code", R"("abc-1")"},
      {"code", R"("ABC-12x")"},  // full match, not a search
      {"code", R"("xABC-12")"},
      {"free", "true"},
      {"count", "0"},
      {"count", "11"},
      {"count", "2.5"},
      {"count", R"("3")"},
      {"count", "true"},
      {"big", "1e300"},
      {"ratio", "2.51"},
      {"ratio", "-1.6"},
      {"ratio", R"("1")"},
      {"ratio", "false"},
      {"flag", R"("true")"},
      {"flag", "1"},
      {"colour", R"("blue")"},
      {"colour", R"("Red")"},
      {"colour", R"(["red"])"},
      {"colour", "1"},
      {"tags", "[]"},                // fewer than min_selected
      {"tags", R"(["a","b","c"])"},  // more than max_selected
      {"tags", R"(["d"])"},
      {"tags", R"(["a","a"])"},
      {"tags", R"("a")"},
      {"tags", "[1]"},
      {"day", R"("2023-02-29")"},
      {"day", R"("1900-02-29")"},
      {"day", R"("2024-04-31")"},
      {"day", R"("2024-13-01")"},
      {"day", R"("2024-00-10")"},
      {"day", R"("2024-1-01")"},
      {"day", R"("20240101")"},
      {"day", R"("2024-01-01T00:00:00Z")"},
      {"day", "20240101"},
      {"at", R"("2024-05-01")"},
      {"at", R"("2024-05-01T25:00:00Z")"},
      {"at", R"("2024-05-01T09:61:00Z")"},
      {"at", R"("2024-02-30T09:30:00Z")"},
      {"at", R"("2024-05-01T09:30:00.1234567891Z")"},  // 10 fraction digits
      {"at", R"("2024-05-01T09:30:00.Z")"},
      {"at", R"("2024-05-01T09:30:00+2")"},
      {"at", R"("2024-05-01T09:30:00+24:00")"},
      {"at", R"("2024-05-01X09:30:00Z")"},
      {"at", R"("2024-05-01T09:30:00Z junk")"},
      {"at", "1714555800"},
      {"mail", R"("no-at.example.org")"},
      {"mail", R"("a@b")"},
      {"mail", R"("a@@example.org")"},
      {"mail", R"("a b@example.org")"},
      {"mail", R"("@example.org")"},
      {"mail", R"("a@example..org")"},
      {"tel", R"("14155552671")"},
      {"tel", R"("+04155552671")"},
      {"tel", R"("+1234567890123456")"},  // 16 digits
      {"tel", R"("+1 415 555 2671")"},
      {"tel", R"("+1")"},
      {"tel", "14155552671"},
      {"where", R"({"lat":90.5,"lon":0})"},
      {"where", R"({"lat":-91,"lon":0})"},
      {"where", R"({"lat":0,"lon":180.5})"},
      {"where", R"({"lat":0,"lon":-181})"},
      {"where", R"({"lat":0})"},
      {"where", R"({"lat":0,"lon":0,"alt":5})"},
      {"where", R"({"lat":"0","lon":0})"},
      {"where", R"({"latitude":0,"longitude":0})"},
      {"where", "[52.5,13.4]"},
      {"where", R"("52.5,13.4")"},
  };
  for (const auto& c : invalid) {
    SCOPED_TRACE(std::string(c.key) + " = " + c.value);
    HttpResponse r = submit(server(), id, json::object{{c.key, J(c.value)}});
    EXPECT_TRUE(IsValidationError(r, {c.key}));
    if (auto message = error_message(r, c.key)) {
      EXPECT_FALSE(message->empty());
    }
  }
  EXPECT_TRUE(list_all_responses(server(), id).empty()) << "a refused response was stored";
}

TEST_F(ResponsesTest, EachOffendingKeyIsReportedOnce) {
  std::string id = form(R"([
    {"key": "name", "type": "text", "required": true},
    {"key": "age", "type": "integer", "required": true, "min": 0},
    {"key": "note", "type": "text"}
  ])");
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(IsValidationError(submit(server(), id, J(R"({"age":1})")), {"name"}));
  EXPECT_TRUE(IsValidationError(submit(server(), id, J(R"({"name":null,"age":1})")), {"name"}));
  EXPECT_TRUE(IsValidationError(submit(server(), id, J("{}")), {"name", "age"}));
  EXPECT_TRUE(IsValidationError(submit(server(), id, J(R"({"name":"n","age":1,"colour":"red"})")), {"colour"}));
  EXPECT_TRUE(IsValidationError(submit(server(), id, J(R"({"age":-1,"note":5,"x":1,"y":2})")),
                                {"name", "age", "note", "x", "y"}));
  // An optional question may be null or absent.
  EXPECT_EQ(submit(server(), id, J(R"({"name":"n","age":0,"note":null})")).status, 201);
  EXPECT_EQ(submit(server(), id, J(R"({"name":"n","age":0})")).status, 201);
}

TEST_F(ResponsesTest, SubmissionEnvelopeIsChecked) {
  std::string id = form(R"([{"key":"a","type":"integer"}])");
  ASSERT_FALSE(id.empty());
  auto post = [&](std::string_view body) { return server().request("POST", responses_path(id), admin_json(), body); };
  EXPECT_TRUE(HasFieldError(post(R"({})"), "answers"));
  EXPECT_TRUE(HasFieldError(post(R"({"answers":[]})"), "answers"));
  EXPECT_TRUE(HasFieldError(post(R"({"answers":"a=1"})"), "answers"));
  EXPECT_TRUE(HasFieldError(post(R"({"answers":{},"metadata":[]})"), "metadata"));
  EXPECT_TRUE(HasFieldError(post(R"({"answers":{},"submitted_at":"yesterday"})"), "submitted_at"));
  EXPECT_TRUE(HasFieldError(post(R"({"answers":{},"submitted_at":"2200-01-01T00:00:00Z"})"), "submitted_at"));
  EXPECT_TRUE(HasFieldError(post(R"({"answers":{},"status":"accepted"})"), "status"));
  EXPECT_TRUE(list_all_responses(server(), id).empty());
}

TEST_F(ResponsesTest, SubmitReturnsTheStoredResponse) {
  std::string id = form(R"([{"key":"a","type":"integer"},{"key":"b","type":"text"}])");
  ASSERT_FALSE(id.empty());
  HttpResponse r = submit_body(server(), id, J(R"({"answers":{"a":7,"b":"x"},"metadata":{"device":"d-1","n":[1,2]},
                                                   "submitted_at":"2024-05-01T09:30:00+02:00"})"));
  ASSERT_EQ(r.status, 201) << r.summary();
  json::value v = r.json();
  std::string rid = str(v, "id");
  EXPECT_TRUE(is_uuid_v7(rid)) << rid;
  EXPECT_EQ(r.header("Location"), responses_path(id) + "/" + rid);
  EXPECT_EQ(str(v, "form_id"), id);
  EXPECT_EQ(at(v, "form_version"), json::value(1));
  EXPECT_EQ(str(v, "status"), "accepted");
  EXPECT_EQ(at(v, "answers"), J(R"({"a":7,"b":"x"})"));
  EXPECT_EQ(at(v, "metadata"), J(R"({"device":"d-1","n":[1,2]})"));
  // The same instant, in UTC.
  EXPECT_EQ(str(v, "submitted_at").rfind("2024-05-01T07:30:00", 0), 0u) << str(v, "submitted_at");
  EXPECT_FALSE(str(v, "received_at").empty());
  EXPECT_EQ(str(v, "updated_at"), str(v, "received_at"));
  EXPECT_EQ(at(v, "revision"), json::value(1));
  EXPECT_TRUE(at(v, "app_id").is_null());
  EXPECT_EQ(at(v, "checks"), J("[]"));
  EXPECT_EQ(at(v, "actions"), J("[]"));  // no integration is attached
  v.as_object().erase("actions");

  HttpResponse got = server().get(responses_path(id) + "/" + rid, server().admin());
  ASSERT_EQ(got.status, 200) << got.summary();
  EXPECT_EQ(got.json(), v);

  // Without submitted_at, it is the time of arrival; metadata defaults to {}.
  HttpResponse now = submit(server(), id, J(R"({"a":1})"));
  ASSERT_EQ(now.status, 201) << now.summary();
  EXPECT_EQ(str(now.json(), "submitted_at"), str(now.json(), "received_at"));
  EXPECT_EQ(at(now.json(), "metadata"), J("{}"));

  EXPECT_TRUE(IsProblem(server().get(responses_path(id) + "/01900000-0000-7000-8000-000000000000", server().admin()),
                        404, "not-found"));
  // A response is found only under its own form.
  std::string other = form(R"([{"key":"a","type":"integer"}])");
  EXPECT_TRUE(IsProblem(server().get(responses_path(other) + "/" + rid, server().admin()), 404, "not-found"));
}

// ---------------------------------------------------------------- rules

TEST_F(ResponsesTest, FailingFlagRuleFlagsTheResponse) {
  std::string id = form(R"([{"key":"age","type":"integer"}])",
                        R"([{"name":"adult","check":"answers.age >= 18","message":"must be an adult"},
                            {"name":"sane","check":"answers.age < 150","message":"too old"}])");
  ASSERT_FALSE(id.empty());
  HttpResponse ok = submit(server(), id, J(R"({"age":30})"));
  ASSERT_EQ(ok.status, 201) << ok.summary();
  EXPECT_EQ(str(ok.json(), "status"), "accepted");
  EXPECT_EQ(at(ok.json(), "checks"), J(R"([{"rule":"adult","passed":true},{"rule":"sane","passed":true}])"));

  HttpResponse young = submit(server(), id, J(R"({"age":12})"));
  ASSERT_EQ(young.status, 201) << young.summary();
  EXPECT_EQ(str(young.json(), "status"), "flagged");
  EXPECT_EQ(at(young.json(), "checks"),
            J(R"([{"rule":"adult","passed":false,"message":"must be an adult"},{"rule":"sane","passed":true}])"));

  // Both are stored, and the status filter tells them apart.
  EXPECT_EQ(ids_of(list_all_responses(server(), id, "status=accepted")),
            std::vector<std::string>{str(ok.json(), "id")});
  EXPECT_EQ(ids_of(list_all_responses(server(), id, "status=flagged")),
            std::vector<std::string>{str(young.json(), "id")});
}

TEST_F(ResponsesTest, FailingRejectRuleRefusesTheResponse) {
  std::string id = form(R"([{"key":"qty","type":"integer"},{"key":"stock","type":"integer"}])",
                        R"([{"name":"note","check":"answers.qty < 100","message":"large order"},
                            {"name":"stock","check":"answers.qty <= answers.stock","message":"not enough stock",
                             "on_fail":"reject"}])");
  ASSERT_FALSE(id.empty());
  HttpResponse refused = submit(server(), id, J(R"({"qty":500,"stock":3})"));
  ASSERT_TRUE(IsProblem(refused, 422, "rule-rejected"));
  EXPECT_EQ(at(refused.json(), "errors"), J(R"([{"field":"rules.stock","message":"not enough stock"}])"));
  EXPECT_EQ(str(refused.json(), "detail"), "not enough stock");
  EXPECT_TRUE(list_all_responses(server(), id).empty()) << "a rejected response was stored";

  HttpResponse fine = submit(server(), id, J(R"({"qty":2,"stock":3})"));
  ASSERT_EQ(fine.status, 201) << fine.summary();
  EXPECT_EQ(str(fine.json(), "status"), "accepted");
  HttpResponse flagged = submit(server(), id, J(R"({"qty":200,"stock":300})"));
  ASSERT_EQ(flagged.status, 201) << flagged.summary();
  EXPECT_EQ(str(flagged.json(), "status"), "flagged");
  EXPECT_EQ(list_all_responses(server(), id).size(), 2u);
}

TEST_F(ResponsesTest, RuleErrorsFailTheRuleNotTheServer) {
  // A rule that raises (here: indexing a missing answer) fails with the reason.
  std::string id = rule_form("deep", "answers.missing.field == 1");
  ASSERT_FALSE(id.empty());
  HttpResponse r = submit(server(), id, J(R"({"a":1})"));
  ASSERT_EQ(r.status, 201) << r.summary();
  EXPECT_EQ(str(r.json(), "status"), "flagged");
  json::value c = check_of(r.json(), "deep");
  EXPECT_EQ(at(c, "passed"), json::value(false));
  EXPECT_EQ(str(c, "message").rfind("rule deep failed (the check could not be evaluated: ", 0), 0u) << dump(c);

  // error() inside a reject rule rejects.
  std::string rejecting = rule_form("boom", "error('boom')", "reject");
  HttpResponse refused = submit(server(), rejecting, J(R"({"a":1})"));
  EXPECT_TRUE(IsProblem(refused, 422, "rule-rejected"));
  EXPECT_NE(error_message(refused, "rules.boom").value_or("").find("could not be evaluated"), std::string::npos)
      << refused.body;
}

TEST_F(ResponsesTest, RuleThatLoopsForeverExceedsItsBudget) {
  std::string id = form(R"([{"key":"a","type":"integer"}])",
                        R"J([{"name":"spin","check":"(function() while true do end end)()","message":"spins"},
                            {"name":"after","check":"answers.a == 1","message":"a is not 1"}])J");
  ASSERT_FALSE(id.empty());
  for (int round = 0; round < 2; ++round) {  // the pooled state stays usable
    SCOPED_TRACE(round);
    HttpResponse r = submit(server(), id, J(R"({"a":1})"));
    ASSERT_EQ(r.status, 201) << r.summary();
    EXPECT_EQ(str(r.json(), "status"), "flagged");
    json::value spin = check_of(r.json(), "spin");
    EXPECT_EQ(at(spin, "passed"), json::value(false));
    EXPECT_EQ(str(spin, "message").rfind("spins (", 0), 0u) << dump(spin);
    EXPECT_NE(str(spin, "message").find("exceeded its instruction budget"), std::string::npos) << dump(spin);
    // The next rule still ran.
    EXPECT_EQ(check_of(r.json(), "after"), J(R"({"rule":"after","passed":true})"));
  }
  // Recursion without end is stopped too (by the budget or the stack), and a
  // reject rule that cannot finish rejects.
  std::string recursive =
      rule_form("recurse", "(function() local function f(n) return f(n + 1) + 1 end return f(1) end)()", "reject");
  HttpResponse refused = submit(server(), recursive, J(R"({"a":1})"));
  EXPECT_TRUE(IsProblem(refused, 422, "rule-rejected"));
  std::string looping_reject = rule_form("spin", "(function() while true do end end)()", "reject");
  HttpResponse refused2 = submit(server(), looping_reject, J(R"({"a":1})"));
  ASSERT_TRUE(IsProblem(refused2, 422, "rule-rejected"));
  EXPECT_NE(error_message(refused2, "rules.spin").value_or("").find("exceeded its instruction budget"),
            std::string::npos)
      << refused2.body;
  expect_server_serves();
}

// A rule whose budget error lands in an xpcall message handler that loops
// used to spin both I/O threads for ever (the handler ran with hooks off).
// Every such rule now fails on its budget, and the server keeps answering.
TEST_F(ResponsesTest, RulesThatCatchTheirBudgetStillStop) {
  const std::vector<std::string> checks = {
      "xpcall(error, function() while true do end end)",
      "(function() while true do xpcall(function() while true do end end, function() while true do end end) end end)()",
      "(function() local x <close> = setmetatable({}, {__close = function() while true do end end}) while true do end "
      "end)()",
      "table.sort({3, 2, 1}, function(a, b) while true do end end)",
  };
  for (const auto& check : checks) {
    SCOPED_TRACE(check);
    std::string flagging = rule_form("spin", check);
    std::string rejecting = rule_form("spin", check, "reject");
    for (int round = 0; round < 2; ++round) {
      HttpResponse r = submit(server(), flagging, J(R"({"a":1})"));
      ASSERT_EQ(r.status, 201) << r.summary();
      EXPECT_EQ(str(r.json(), "status"), "flagged");
      EXPECT_NE(str(check_of(r.json(), "spin"), "message").find("budget"), std::string::npos) << r.body;
      HttpResponse refused = submit(server(), rejecting, J(R"({"a":1})"));
      ASSERT_TRUE(IsProblem(refused, 422, "rule-rejected")) << refused.summary();
      EXPECT_NE(error_message(refused, "rules.spin").value_or("").find("budget"), std::string::npos) << refused.body;
    }
    EXPECT_EQ(server().get("/healthz").status, 200);
  }
  // A finalizer would run with hooks off: refused when the rule sets it.
  std::string finalizer = rule_form("gc", "setmetatable({}, {__gc = function() while true do end end}) ~= nil");
  HttpResponse r = submit(server(), finalizer, J(R"({"a":1})"));
  ASSERT_EQ(r.status, 201) << r.summary();
  EXPECT_NE(str(check_of(r.json(), "gc"), "message").find("__gc"), std::string::npos) << r.body;
  expect_server_serves();
}

TEST_F(ResponsesTest, RuleThatAllocatesWithoutEndExceedsItsMemory) {
  std::string id = form(R"([{"key":"a","type":"integer"}])",
                        R"J([{"name":"huge_string","check":"#string.rep(\"x\", 1e9) > 0","message":"m1"},
          {"name":"growing_table",
           "check":"(function() local t = {} local i = 0 while true do i = i + 1 t[i] = string.rep(\"y\", 1000) .. i end end)()",
           "message":"m2"},
          {"name":"doubling","check":"(function() local s = \"z\" while true do s = s .. s end end)()","message":"m3"},
          {"name":"after","check":"answers.a == 1","message":"m4"}])J");
  ASSERT_FALSE(id.empty());
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round);
    HttpResponse r = submit(server(), id, J(R"({"a":1})"));
    ASSERT_EQ(r.status, 201) << r.summary();
    EXPECT_EQ(str(r.json(), "status"), "flagged");
    for (const char* name : {"huge_string", "growing_table", "doubling"}) {
      json::value c = check_of(r.json(), name);
      EXPECT_EQ(at(c, "passed"), json::value(false)) << name;
      EXPECT_NE(str(c, "message").find("exceeded its memory limit"), std::string::npos) << dump(c);
    }
    EXPECT_EQ(check_of(r.json(), "after"), J(R"({"rule":"after","passed":true})"));
  }
  expect_server_serves();
}

TEST_F(ResponsesTest, SandboxEscapesFailTheRule) {
  const std::string dir = server().data_dir();
  struct Escape {
    const char* name;
    std::string check;
  };
  const std::vector<Escape> escapes = {
      {"os_execute", "os.execute('touch " + dir + "/escaped-os') == 0"},
      {"io_open", "io.open('" + dir + "/escaped-io', 'w') ~= nil"},
      {"io_popen", "io.popen('touch " + dir + "/escaped-popen') ~= nil"},
      {"require_os", "require('os') ~= nil"},
      {"load", "load('return 1')() == 1"},
      {"loadstring", "loadstring('return 1')() == 1"},
      {"dofile", "dofile('/etc/hostname') ~= nil"},
      {"loadfile", "loadfile('/etc/hostname') ~= nil"},
      {"string_dump", "#string.dump(function() return 1 end) > 0"},
      {"method_dump", "#(''):dump() > 0"},
      {"package", "package.loadlib('libc.so.6', '*') ~= nil"},
      {"debug", "debug.getregistry() ~= nil"},
      {"collectgarbage", "collectgarbage('count') > 0"},
  };
  json::array rules;
  for (const auto& e : escapes) {
    rules.push_back(json::object{{"name", e.name}, {"check", e.check}, {"message", "escape"}});
  }
  rules.push_back(json::object{{"name", "after"}, {"check", "answers.a == 1"}, {"message", "m"}});
  std::string id = form(R"([{"key":"a","type":"integer"}])", dump(rules));
  ASSERT_FALSE(id.empty());

  HttpResponse r = submit(server(), id, J(R"({"a":1})"));
  ASSERT_EQ(r.status, 201) << r.summary();
  EXPECT_EQ(str(r.json(), "status"), "flagged");
  for (const auto& e : escapes) {
    json::value c = check_of(r.json(), e.name);
    EXPECT_EQ(at(c, "passed"), json::value(false)) << e.name;
    EXPECT_EQ(str(c, "message").rfind("escape (the check could not be evaluated: ", 0), 0u) << dump(c);
  }
  EXPECT_EQ(check_of(r.json(), "after"), J(R"({"rule":"after","passed":true})"));
  for (const char* file : {"escaped-os", "escaped-io", "escaped-popen"}) {
    EXPECT_FALSE(std::filesystem::exists(dir + "/" + file)) << "a rule wrote " << file;
  }
  // The same escapes as reject rules reject.
  std::string rejecting = rule_form("os_execute", escapes[0].check, "reject");
  EXPECT_TRUE(IsProblem(submit(server(), rejecting, J(R"({"a":1})")), 422, "rule-rejected"));
  expect_server_serves();
}

TEST_F(ResponsesTest, RuleGlobalsDoNotLeakBetweenSubmissions) {
  // Each rule reports whether it is the first evaluation to see its marker.
  // Globals must live only for one evaluation, so every submission passes.
  std::string id = form(
      R"([{"key":"a","type":"integer"}])",
      R"J([{"name":"plain_global","check":"(function() seen = (seen or 0) + 1 return seen == 1 end)()","message":"m"},
          {"name":"via_G","check":"(function() _G.seen_g = (_G.seen_g or 0) + 1 return _G.seen_g == 1 end)()",
           "message":"a global written through _G survived from an earlier submission"},
          {"name":"via_env_index","check":"(function() local mt = getmetatable(_ENV) local g = type(mt) == 'table' and type(mt.__index) == 'table' and mt.__index or {} g.seen_i = (g.seen_i or 0) + 1 return g.seen_i == 1 end)()",
           "message":"a global written through the environment's __index survived from an earlier submission"}])J");
  ASSERT_FALSE(id.empty());
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    HttpResponse r = submit(server(), id, J(R"({"a":1})"));
    ASSERT_EQ(r.status, 201) << r.summary();
    EXPECT_EQ(at(r.json(), "checks"), J(R"([{"rule":"plain_global","passed":true},{"rule":"via_G","passed":true},
                                            {"rule":"via_env_index","passed":true}])"))
        << dump(at(r.json(), "checks"));
    EXPECT_EQ(str(r.json(), "status"), "accepted");
  }
}

TEST_F(ResponsesTest, RuleCannotChangeTheLibrariesOfLaterSubmissions) {
  // A rule that tries to replace string.upper fails (the libraries are
  // read-only), and string.upper still works for every later submission.
  std::string id = rule_form(
      "tamper", "(function() local ok = string.upper('a') == 'A' string.upper = string.lower return ok end)()");
  ASSERT_FALSE(id.empty());
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    HttpResponse r = submit(server(), id, J(R"({"a":1})"));
    ASSERT_EQ(r.status, 201) << r.summary();
    EXPECT_EQ(str(r.json(), "status"), "flagged") << dump(at(r.json(), "checks"));
    const json::value checks = at(r.json(), "checks");
    ASSERT_TRUE(checks.is_array() && !checks.as_array().empty()) << dump(checks);
    const auto& check = checks.as_array().at(0).as_object();
    ASSERT_TRUE(check.contains("message")) << dump(checks);
    // The same failure every round: the assignment is refused, never half-applied.
    EXPECT_NE(std::string(check.at("message").as_string()).find("read-only"), std::string::npos) << dump(checks);
  }
  std::string upper = rule_form("upper_still_works", "string.upper('a') == 'A'");
  ASSERT_FALSE(upper.empty());
  HttpResponse r = submit(server(), upper, J(R"({"a":1})"));
  ASSERT_EQ(r.status, 201) << r.summary();
  EXPECT_EQ(str(r.json(), "status"), "accepted") << dump(at(r.json(), "checks"));
}

TEST_F(ResponsesTest, RulesSeeEveryAnswerType) {
  std::string id = form(kEveryType, R"([
    {"name":"text","check":"answers.free == 'hé'","message":"m"},
    {"name":"int","check":"math.type(answers.count) == 'integer' and answers.count == 3","message":"m"},
    {"name":"num","check":"answers.ratio == 0.5","message":"m"},
    {"name":"bool","check":"answers.flag == false","message":"m"},
    {"name":"multi","check":"#answers.tags == 2 and answers.tags[1] == 'b' and answers.tags[2] == 'a'","message":"m"},
    {"name":"geo","check":"answers.where.lat == 1.5 and answers.where.lon == -2","message":"m"},
    {"name":"absent","check":"answers.mail == nil","message":"m"}
  ])");
  ASSERT_FALSE(id.empty());
  HttpResponse r = submit(server(), id, J(R"({"free":"hé","count":3,"ratio":0.5,"flag":false,"tags":["b","a"],
                                             "where":{"lat":1.5,"lon":-2}})"));
  ASSERT_EQ(r.status, 201) << r.summary();
  EXPECT_EQ(str(r.json(), "status"), "accepted") << dump(at(r.json(), "checks"));
}

// ---------------------------------------------------------------- idempotency

TEST_F(ResponsesTest, SameIdempotencyKeyAndBodyReplaysTheResponse) {
  std::string id = form(R"([{"key":"a","type":"integer"}])");
  ASSERT_FALSE(id.empty());
  std::string key = fx::unique("replay");
  Headers h{{"Idempotency-Key", key}};
  HttpResponse first = submit(server(), id, J(R"({"a":1})"), h);
  ASSERT_EQ(first.status, 201) << first.summary();
  EXPECT_FALSE(first.has_header("Idempotent-Replayed"));
  HttpResponse again = submit(server(), id, J(R"({"a":1})"), h);
  ASSERT_EQ(again.status, 201) << again.summary();
  EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(again.json(), first.json());
  EXPECT_EQ(again.header("Location"), first.header("Location"));
  EXPECT_EQ(list_all_responses(server(), id).size(), 1u);

  // The same key with another body is refused, and stores nothing.
  HttpResponse other = submit(server(), id, J(R"({"a":2})"), h);
  ASSERT_TRUE(IsProblem(other, 422, "idempotency-key-reused"));
  EXPECT_EQ(error_fields(other), std::vector<std::string>{"Idempotency-Key"});
  EXPECT_EQ(list_all_responses(server(), id).size(), 1u);

  // Keys belong to a form: the same key elsewhere is a new response.
  std::string elsewhere = form(R"([{"key":"a","type":"integer"}])");
  HttpResponse fresh = submit(server(), elsewhere, J(R"({"a":1})"), h);
  ASSERT_EQ(fresh.status, 201) << fresh.summary();
  EXPECT_FALSE(fresh.has_header("Idempotent-Replayed"));
  EXPECT_NE(str(fresh.json(), "id"), str(first.json(), "id"));

  // Without a key, the same body makes a new response each time.
  EXPECT_NE(str(submit(server(), id, J(R"({"a":1})")).json(), "id"),
            str(submit(server(), id, J(R"({"a":1})")).json(), "id"));
  EXPECT_EQ(list_all_responses(server(), id).size(), 3u);
}

TEST_F(ResponsesTest, ReplayAfterTheFormChangedReturnsTheStoredResponse) {
  // A client that lost the 201 retries with the same key and body. Its
  // response is stored, so the retry must replay it even when the form got a
  // new version in between (here: a new required question).
  std::string id = form(R"([{"key":"a","type":"integer"}])");
  ASSERT_FALSE(id.empty());
  Headers h{{"Idempotency-Key", fx::unique("retry")}};
  HttpResponse first = submit(server(), id, J(R"({"a":1})"), h);
  ASSERT_EQ(first.status, 201) << first.summary();

  HttpResponse patched = patch_form(
      server(), id, J(R"({"questions":[{"key":"a","type":"integer"},{"key":"b","type":"text","required":true}]})"));
  ASSERT_EQ(patched.status, 200) << patched.summary();
  HttpResponse retry = submit(server(), id, J(R"({"a":1})"), h);
  EXPECT_EQ(retry.status, 201) << retry.summary();
  EXPECT_EQ(retry.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(str(retry.json(), "id"), str(first.json(), "id"));
  EXPECT_EQ(list_all_responses(server(), id).size(), 1u);
}

TEST_F(ResponsesTest, ReplayAfterArchivingReturnsTheStoredResponse) {
  // The same retry after the form was archived: the response was stored
  // before, so the retry replays it rather than reporting 409.
  std::string id = form(R"([{"key":"a","type":"integer"}])");
  ASSERT_FALSE(id.empty());
  Headers h{{"Idempotency-Key", fx::unique("retry")}};
  HttpResponse first = submit(server(), id, J(R"({"a":1})"), h);
  ASSERT_EQ(first.status, 201) << first.summary();
  ASSERT_EQ(server().request("DELETE", "/v1/forms/" + id, server().admin()).status, 200);
  HttpResponse retry = submit(server(), id, J(R"({"a":1})"), h);
  EXPECT_EQ(retry.status, 201) << retry.summary();
  EXPECT_EQ(retry.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(str(retry.json(), "id"), str(first.json(), "id"));
  // A new submission is still refused.
  EXPECT_TRUE(
      IsProblem(submit(server(), id, J(R"({"a":2})"), {{"Idempotency-Key", fx::unique("new")}}), 409, "form-archived"));
}

TEST_F(ResponsesTest, IdempotencyKeysMustBeVisibleAscii) {
  std::string id = form(R"([{"key":"a","type":"integer"}])");
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(IsValidationError(submit(server(), id, J(R"({"a":1})"), {{"Idempotency-Key", "has space"}}),
                                {"Idempotency-Key"}));
  EXPECT_TRUE(IsValidationError(submit(server(), id, J(R"({"a":1})"), {{"Idempotency-Key", std::string(256, 'k')}}),
                                {"Idempotency-Key"}));
  EXPECT_TRUE(IsValidationError(submit(server(), id, J(R"({"a":1})"), {{"Idempotency-Key", "caf\xc3\xa9"}}),
                                {"Idempotency-Key"}));
  EXPECT_TRUE(list_all_responses(server(), id).empty());
  EXPECT_EQ(submit(server(), id, J(R"({"a":1})"), {{"Idempotency-Key", std::string(255, 'k')}}).status, 201);
}

TEST_F(ResponsesTest, ConcurrentDuplicatesStoreOneResponse) {
  std::string id = form(R"([{"key":"a","type":"integer"}])");
  ASSERT_FALSE(id.empty());
  constexpr int kThreads = 20;
  const std::string key = fx::unique("concurrent");
  const std::string request = build_request("POST", responses_path(id), with(admin_json(), {{"Idempotency-Key", key}}),
                                            R"({"answers":{"a":42}})");
  std::vector<Client> clients;
  for (int i = 0; i < kThreads; ++i) {
    clients.emplace_back(server().port());
    ASSERT_TRUE(clients.back().connected()) << clients.back().error();
  }
  std::latch go(kThreads);
  std::vector<HttpResponse> replies(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      go.arrive_and_wait();
      if (clients[i].send_raw(request)) replies[i] = clients[i].read_response();
    });
  }
  for (auto& t : threads) t.join();

  std::set<std::string> ids;
  int originals = 0;
  for (const auto& r : replies) {
    ASSERT_EQ(r.status, 201) << r.summary();
    ids.insert(str(r.json(), "id"));
    originals += r.has_header("Idempotent-Replayed") ? 0 : 1;
  }
  EXPECT_EQ(ids.size(), 1u) << "the duplicates got different responses";
  EXPECT_EQ(originals, 1) << "expected exactly one stored original, the rest replays";
  std::vector<json::value> stored = list_all_responses(server(), id);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(str(stored[0], "id"), *ids.begin());
  EXPECT_EQ(at(stored[0], "answers"), J(R"({"a":42})"));
}

// ---------------------------------------------------------------- corrections

TEST_F(ResponsesTest, CorrectionsAreStoredAsRevisions) {
  std::string id =
      form(R"([{"key":"a","type":"integer"}])", R"([{"name":"small","check":"answers.a < 3","message":"a is large"}])");
  ASSERT_FALSE(id.empty());
  HttpResponse created = submit_body(server(), id, J(R"({"answers":{"a":1},"metadata":{"m":1},
                                                         "submitted_at":"2024-01-02T03:04:05Z"})"));
  ASSERT_EQ(created.status, 201) << created.summary();
  json::value original = created.json();
  std::string rid = str(original, "id");

  HttpResponse second = correct(server(), id, rid, J(R"({"a":2})"));
  ASSERT_EQ(second.status, 200) << second.summary();
  json::value v2 = second.json();
  EXPECT_EQ(str(v2, "id"), rid);
  EXPECT_EQ(at(v2, "revision"), json::value(2));
  EXPECT_EQ(at(v2, "answers"), J(R"({"a":2})"));
  EXPECT_EQ(str(v2, "status"), "accepted");
  EXPECT_EQ(str(v2, "submitted_at"), str(original, "submitted_at"));
  EXPECT_EQ(str(v2, "received_at"), str(original, "received_at"));
  EXPECT_EQ(at(v2, "metadata"), J(R"({"m":1})"));
  EXPECT_FALSE(str(v2, "updated_at").empty());
  EXPECT_EQ(at(v2, "actions"), J("[]"));
  v2.as_object().erase("actions");
  EXPECT_EQ(server().get(responses_path(id) + "/" + rid, server().admin()).json(), v2);

  // A correction that breaks a flag rule flags the response.
  HttpResponse third = correct(server(), id, rid, J(R"({"a":5})"));
  ASSERT_EQ(third.status, 200) << third.summary();
  EXPECT_EQ(at(third.json(), "revision"), json::value(3));
  EXPECT_EQ(str(third.json(), "status"), "flagged");
  EXPECT_EQ(at(third.json(), "checks"), J(R"([{"rule":"small","passed":false,"message":"a is large"}])"));

  // Refused corrections change nothing.
  EXPECT_TRUE(IsValidationError(correct(server(), id, rid, J(R"({"a":"x"})")), {"a"}));
  EXPECT_TRUE(IsValidationError(correct(server(), id, rid, J(R"({"b":1})")), {"b"}));
  EXPECT_TRUE(HasFieldError(
      server().request("PUT", responses_path(id) + "/" + rid, admin_json(), R"({"answers":{},"metadata":{}})"),
      "metadata"));
  EXPECT_TRUE(HasFieldError(server().request("PUT", responses_path(id) + "/" + rid, admin_json(), R"({})"), "answers"));
  EXPECT_EQ(at(server().get(responses_path(id) + "/" + rid, server().admin()).json(), "revision"), json::value(3));

  // A correction is checked against the form as it is now.
  HttpResponse patched = patch_form(server(), id, J(R"({"questions":[{"key":"a","type":"integer"},
                                                                      {"key":"b","type":"text","required":true}]})"));
  ASSERT_EQ(patched.status, 200) << patched.summary();
  EXPECT_TRUE(IsValidationError(correct(server(), id, rid, J(R"({"a":1})")), {"b"}));
  HttpResponse fourth = correct(server(), id, rid, J(R"({"a":1,"b":"now required"})"));
  ASSERT_EQ(fourth.status, 200) << fourth.summary();
  EXPECT_EQ(at(fourth.json(), "revision"), json::value(4));
  EXPECT_EQ(at(fourth.json(), "form_version"), json::value(2));
  EXPECT_EQ(str(fourth.json(), "status"), "accepted");

  HttpResponse revisions = server().get(responses_path(id) + "/" + rid + "/revisions", server().admin());
  ASSERT_EQ(revisions.status, 200) << revisions.summary();
  json::value list = revisions.json();
  EXPECT_EQ(str(list, "response_id"), rid);
  const json::array& items = arr(list, "items");
  ASSERT_EQ(items.size(), 4u) << revisions.body;
  const char* answers[] = {R"({"a":1})", R"({"a":2})", R"({"a":5})", R"({"a":1,"b":"now required"})"};
  const char* statuses[] = {"accepted", "accepted", "flagged", "accepted"};
  const int versions[] = {1, 1, 1, 2};
  for (std::size_t i = 0; i < items.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(at(items[i], "revision"), json::value(static_cast<int>(i) + 1));
    EXPECT_EQ(at(items[i], "answers"), J(answers[i]));
    EXPECT_EQ(str(items[i], "status"), statuses[i]);
    EXPECT_EQ(at(items[i], "form_version"), json::value(versions[i]));
    EXPECT_TRUE(at(items[i], "checks").is_array());
    EXPECT_FALSE(str(items[i], "created_at").empty());
  }
  EXPECT_EQ(at(items[2], "checks"), J(R"([{"rule":"small","passed":false,"message":"a is large"}])"));
  EXPECT_EQ(str(items[0], "created_at"), str(original, "received_at"));

  // Unknown responses, or a response under another form, are not found.
  const std::string ghost = "01900000-0000-7000-8000-000000000000";
  EXPECT_TRUE(IsProblem(correct(server(), id, ghost, J(R"({"a":1,"b":"x"})")), 404, "not-found"));
  EXPECT_TRUE(
      IsProblem(server().get(responses_path(id) + "/" + ghost + "/revisions", server().admin()), 404, "not-found"));
  std::string other = form(R"([{"key":"a","type":"integer"}])");
  EXPECT_TRUE(IsProblem(correct(server(), other, rid, J(R"({"a":1})")), 404, "not-found"));
  EXPECT_TRUE(
      IsProblem(server().get(responses_path(other) + "/" + rid + "/revisions", server().admin()), 404, "not-found"));
  EXPECT_EQ(at(server().get(responses_path(id) + "/" + rid, server().admin()).json(), "revision"), json::value(4));
}

// ---------------------------------------------------------------- listing

TEST_F(ResponsesTest, ListingPagesInArrivalOrderWithFilters) {
  std::string id =
      form(R"([{"key":"n","type":"integer"}])", R"([{"name":"even","check":"answers.n % 2 == 0","message":"odd"}])");
  ASSERT_FALSE(id.empty());
  std::vector<std::string> ids;
  for (int n = 0; n < 7; ++n) {
    HttpResponse r = submit(server(), id, json::object{{"n", n}});
    ASSERT_EQ(r.status, 201) << r.summary();
    ids.push_back(str(r.json(), "id"));
  }
  // Default page: everything in arrival order, no cursor.
  HttpResponse all = server().get(responses_path(id), server().admin());
  ASSERT_EQ(all.status, 200) << all.summary();
  json::value page = all.json();
  EXPECT_TRUE(at(page, "next_cursor").is_null());
  std::vector<json::value> items(arr(page, "items").begin(), arr(page, "items").end());
  EXPECT_EQ(ids_of(items), ids);

  // Pages of 3: cursors are strings, passed back as after.
  std::vector<std::string> walked;
  std::string after;
  std::vector<std::size_t> sizes;
  for (int guard = 0; guard < 10; ++guard) {
    HttpResponse r =
        server().get(responses_path(id) + "?limit=3" + (after.empty() ? "" : "&after=" + after), server().admin());
    ASSERT_EQ(r.status, 200) << r.summary();
    json::value p = r.json();
    sizes.push_back(arr(p, "items").size());
    for (const auto& item : arr(p, "items")) walked.push_back(str(item, "id"));
    json::value next = at(p, "next_cursor");
    if (next.is_null()) break;
    ASSERT_TRUE(next.is_string()) << r.body;
    after = std::string(next.get_string());
  }
  EXPECT_EQ(walked, ids);
  EXPECT_EQ(sizes, (std::vector<std::size_t>{3, 3, 1}));

  // Status filters.
  std::vector<std::string> even{ids[0], ids[2], ids[4], ids[6]};
  std::vector<std::string> odd{ids[1], ids[3], ids[5]};
  EXPECT_EQ(ids_of(list_all_responses(server(), id, "status=accepted", 2)), even);
  EXPECT_EQ(ids_of(list_all_responses(server(), id, "status=flagged", 2)), odd);

  // Time bounds (on the time of arrival): since is inclusive, until exclusive.
  for (const auto& item : items) {
    EXPECT_EQ(str(item, "received_at").size(), std::string("2024-01-01T00:00:00.000Z").size()) << dump(item);
  }
  std::string pivot = str(items[3], "received_at");
  std::vector<std::string> from_pivot, before_pivot;
  for (const auto& item : items) {
    (str(item, "received_at") >= pivot ? from_pivot : before_pivot).push_back(str(item, "id"));
  }
  EXPECT_EQ(ids_of(list_all_responses(server(), id, "since=" + pivot)), from_pivot);
  EXPECT_EQ(ids_of(list_all_responses(server(), id, "until=" + pivot)), before_pivot);
  EXPECT_EQ(ids_of(list_all_responses(server(), id, "since=2000-01-01T00:00:00Z")), ids);
  EXPECT_TRUE(list_all_responses(server(), id, "since=2200-01-01T00:00:00Z").empty());
  EXPECT_TRUE(list_all_responses(server(), id, "until=2000-01-01T00:00:00Z").empty());
  EXPECT_EQ(ids_of(list_all_responses(server(), id, "until=2200-01-01T00:00:00Z&status=flagged")), odd);

  // Bad parameters.
  const std::string base = responses_path(id) + "?";
  EXPECT_TRUE(HasFieldError(server().get(base + "status=pending", server().admin()), "status"));
  EXPECT_TRUE(HasFieldError(server().get(base + "limit=0", server().admin()), "limit"));
  EXPECT_TRUE(HasFieldError(server().get(base + "limit=1001", server().admin()), "limit"));
  EXPECT_TRUE(HasFieldError(server().get(base + "after=abc", server().admin()), "after"));
  EXPECT_TRUE(HasFieldError(server().get(base + "after=-5", server().admin()), "after"));
  EXPECT_TRUE(HasFieldError(server().get(base + "since=yesterday", server().admin()), "since"));
  EXPECT_TRUE(HasFieldError(server().get(base + "until=2024-13-01T00:00:00Z", server().admin()), "until"));
}

TEST_F(ResponsesTest, PagingIsStableUnderConcurrentInserts) {
  std::string id = form(R"([{"key":"n","type":"integer"}])");
  ASSERT_FALSE(id.empty());
  std::vector<std::string> before = submit_many(
      server(), id, 150,
      [](std::size_t i) {
        return json::object{{"n", i}};
      },
      fx::unique("pre") + "-");
  std::vector<std::string> baseline = ids_of(list_all_responses(server(), id));
  ASSERT_EQ(baseline.size(), 150u);
  ASSERT_EQ(std::set<std::string>(baseline.begin(), baseline.end()),
            std::set<std::string>(before.begin(), before.end()));

  // A writer keeps submitting while the walk goes on.
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::string writer_error;
  std::thread writer([&] {
    Client c(server().port());
    const std::string path = responses_path(id);
    for (int n = 1000; !stop.load(); ++n) {
      HttpResponse r = c.request("POST", path, admin_json(), dump(json::object{{"answers", json::object{{"n", n}}}}));
      if (r.status != 201) {
        writer_error = r.summary();
        return;
      }
      written.fetch_add(1);
    }
  });
  ASSERT_TRUE(eventually([&] { return written.load() > 0 || !writer_error.empty(); }));

  std::vector<std::string> walk;
  std::string after;
  int pages = 0;
  for (; pages < 10000; ++pages) {
    HttpResponse r =
        server().get(responses_path(id) + "?limit=7" + (after.empty() ? "" : "&after=" + after), server().admin());
    ASSERT_EQ(r.status, 200) << r.summary();
    json::value p = r.json();
    for (const auto& item : arr(p, "items")) walk.push_back(str(item, "id"));
    json::value next = at(p, "next_cursor");
    if (next.is_null()) break;
    after = std::string(next.get_string());
    // Once the walk is past what existed at the start, let it reach the end.
    if (walk.size() >= baseline.size() + 20) stop = true;
    // Interleave our own inserts between pages, too.
    if (!stop) {
      ASSERT_EQ(submit(server(), id, J(R"({"n":-1})")).status, 201);
    }
  }
  stop = true;
  writer.join();
  EXPECT_EQ(writer_error, "");

  std::set<std::string> unique(walk.begin(), walk.end());
  EXPECT_EQ(unique.size(), walk.size()) << "a response was listed twice";
  ASSERT_GE(walk.size(), baseline.size());
  EXPECT_EQ(std::vector<std::string>(walk.begin(), walk.begin() + static_cast<long>(baseline.size())), baseline)
      << "the responses that existed before the walk were not listed once each, in order";
  // What the walk saw is exactly the start of the quiet listing afterwards.
  std::vector<std::string> quiet = ids_of(list_all_responses(server(), id));
  ASSERT_GE(quiet.size(), walk.size());
  EXPECT_EQ(std::vector<std::string>(quiet.begin(), quiet.begin() + static_cast<long>(walk.size())), walk);
  EXPECT_GT(quiet.size(), baseline.size());
}

// ---------------------------------------------------------------- apps

TEST_F(ResponsesTest, AppsSubmitAndCorrectOnlyTheirOwnResponses) {
  std::string id = form(R"([{"key":"a","type":"integer"}])");
  ASSERT_FALSE(id.empty());
  App mine = make_app(server(), fx::unique("app-a"));
  App theirs = make_app(server(), fx::unique("app-b"));
  ASSERT_FALSE(mine.token.empty());
  ASSERT_FALSE(theirs.token.empty());

  HttpResponse by_app = submit(server(), id, J(R"({"a":1})"), {}, mine.token);
  ASSERT_EQ(by_app.status, 201) << by_app.summary();
  EXPECT_EQ(str(by_app.json(), "app_id"), mine.id);
  std::string rid = str(by_app.json(), "id");
  HttpResponse by_admin = submit(server(), id, J(R"({"a":2})"));
  ASSERT_EQ(by_admin.status, 201);
  EXPECT_TRUE(at(by_admin.json(), "app_id").is_null());
  std::string admin_rid = str(by_admin.json(), "id");

  // Its own response: yes. Another app's or the admin's: they do not exist for it.
  HttpResponse fixed = correct(server(), id, rid, J(R"({"a":10})"), mine.token);
  ASSERT_EQ(fixed.status, 200) << fixed.summary();
  EXPECT_EQ(at(fixed.json(), "revision"), json::value(2));
  EXPECT_EQ(str(fixed.json(), "app_id"), mine.id);
  EXPECT_TRUE(IsProblem(correct(server(), id, rid, J(R"({"a":666})"), theirs.token), 404, "not-found"));
  EXPECT_TRUE(IsProblem(correct(server(), id, admin_rid, J(R"({"a":666})"), mine.token), 404, "not-found"));
  // The admin may correct anything; the response keeps its app.
  HttpResponse by_admin_fix = correct(server(), id, rid, J(R"({"a":11})"));
  ASSERT_EQ(by_admin_fix.status, 200) << by_admin_fix.summary();
  EXPECT_EQ(str(by_admin_fix.json(), "app_id"), mine.id);

  HttpResponse stored = server().get(responses_path(id) + "/" + rid, server().admin());
  EXPECT_EQ(at(stored.json(), "answers"), J(R"({"a":11})"));
  EXPECT_EQ(at(stored.json(), "revision"), json::value(3));
  EXPECT_EQ(at(server().get(responses_path(id) + "/" + admin_rid, server().admin()).json(), "revision"),
            json::value(1));
  // The app reads nothing back.
  EXPECT_TRUE(IsProblem(server().get(responses_path(id) + "/" + rid, bearer(mine.token)), 403, "forbidden"));

  // A deleted app's token stops working.
  ASSERT_EQ(server().request("DELETE", "/v1/apps/" + theirs.id, server().admin()).status, 204);
  EXPECT_TRUE(IsProblem(submit(server(), id, J(R"({"a":1})"), {}, theirs.token), 401, "unauthorized"));
  EXPECT_EQ(list_all_responses(server(), id).size(), 2u);
}

// ---------------------------------------------------------------- CPU-bound rules

// A rule can burn CPU inside one library call (Lua pattern backtracking),
// where the instruction count hook never runs. It must still be stopped and
// must not stall the server. A server of its own: a stuck worker thread
// would poison a shared one.
TEST(ResponsesRuleCpuTest, PatternBacktrackingIsStoppedAndTheServerKeepsServing) {
  DaisyProcess server;
  ASSERT_TRUE(server.start()) << server.start_error();
  std::string id = create_form_id(server, J(R"({"title":"cpu","questions":[{"key":"a","type":"integer"}],
                   "rules":[{"name":"backtrack",
                             "check":"string.find(string.rep('a', 5000), '(.-)(.-)(.-)(.-)(.-)(.-)b') == nil",
                             "message":"slow"}]})"));
  ASSERT_FALSE(id.empty());
  // Generous timeouts: they only keep the test from hanging.
  auto submission = std::async(std::launch::async, [&] {
    Client c(server.port(), std::chrono::seconds(15));
    return c.request("POST", responses_path(id), admin_json(), R"({"answers":{"a":1}})");
  });
  HttpResponse health = [&] {
    Client c(server.port(), std::chrono::seconds(15));
    return c.request("GET", "/healthz");
  }();
  EXPECT_EQ(health.status, 200) << "the server stopped answering while a rule ran: " << health.summary();
  HttpResponse r = submission.get();
  ASSERT_EQ(r.status, 201) << "the rule was not stopped: " << r.summary();
  EXPECT_EQ(str(r.json(), "status"), "flagged");
  EXPECT_EQ(at(arr(r.json(), "checks")[0], "passed"), json::value(false));
  EXPECT_EQ(server.sanitizer_report(), "");
}

}  // namespace
}  // namespace daisy_e2e
