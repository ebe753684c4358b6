// /v1/forms and /v1/forms/{id}/questions end to end: definitions, validation
// of definitions, listing, versioning, questions one by one, archiving and who
// may do what.
#include <boost/json.hpp>

#include <set>

#include "harness.h"
#include "suite_support.h"

namespace daisy_e2e {
namespace {

using namespace fx;

class FormsTest : public SharedServer<FormsTest> {
 public:
  static DaisyProcess::Options options() { return {}; }

 protected:
  // Every form id, walking GET /v1/forms with this page size.
  static std::vector<std::string> all_form_ids(int limit = 1000) {
    std::vector<std::string> ids;
    std::string after;
    for (int guard = 0; guard < 10000; ++guard) {
      std::string target = "/v1/forms?limit=" + std::to_string(limit);
      if (!after.empty()) target += "&after=" + after;
      HttpResponse r = server().get(target, server().admin());
      if (r.status != 200) {
        ADD_FAILURE() << r.summary();
        return ids;
      }
      json::value page = r.json();
      for (const auto& item : arr(page, "items")) ids.push_back(str(item, "id"));
      json::value next = at(page, "next_cursor");
      if (next.is_null()) return ids;
      after = std::string(next.get_string());
    }
    ADD_FAILURE() << "form listing did not end";
    return ids;
  }

  static json::value simple_form(std::string_view title = "Simple") {
    json::value def = J(R"({"questions":[{"key":"a","type":"integer"}]})");
    def.as_object()["title"] = title;
    return def;
  }
};

// A definition using every question type and constraint.
constexpr std::string_view kEveryTypeForm = R"({
  "title": "Field survey",
  "description": "All the types",
  "metadata": {"owner": "ops", "tags": ["a", "b"]},
  "questions": [
    {"key": "name", "type": "text", "label": "Name", "required": true, "min_length": 2, "max_length": 40,
     "pattern": "[A-Za-z ]+", "metadata": {"hint": "full name"}},
    {"key": "age", "type": "integer", "min": 0, "max": 130},
    {"key": "ratio", "type": "number", "min": -1.5, "max": 2.5},
    {"key": "consent", "type": "boolean", "required": false},
    {"key": "colour", "type": "choice", "options": ["red", "green"]},
    {"key": "tags", "type": "multi_choice", "options": ["x", "y", "z"], "min_selected": 1, "max_selected": 2},
    {"key": "day", "type": "date"},
    {"key": "at", "type": "datetime"},
    {"key": "mail", "type": "email"},
    {"key": "tel", "type": "phone"},
    {"key": "where", "type": "geopoint"}
  ],
  "rules": [
    {"name": "adult", "check": "answers.age == nil or answers.age >= 18", "message": "must be an adult"},
    {"name": "ratio_ok", "check": "answers.ratio ~= 0", "message": "ratio must not be 0", "on_fail": "reject"}
  ]
})";

TEST_F(FormsTest, CreateEchoesTheWholeDefinition) {
  HttpResponse r = create_form(server(), J(kEveryTypeForm));
  ASSERT_EQ(r.status, 201) << r.summary();
  json::value v = r.json();
  std::string id = str(v, "id");
  EXPECT_TRUE(is_uuid_v7(id)) << id;
  EXPECT_EQ(r.header("Location"), "/v1/forms/" + id);
  EXPECT_EQ(at(v, "version"), json::value(1));
  EXPECT_EQ(str(v, "status"), "active");
  EXPECT_TRUE(at(v, "archived_at").is_null());
  EXPECT_FALSE(str(v, "created_at").empty());
  EXPECT_EQ(str(v, "updated_at"), str(v, "created_at"));
  EXPECT_EQ(str(v, "title"), "Field survey");
  EXPECT_EQ(str(v, "description"), "All the types");
  EXPECT_EQ(at(v, "metadata"), J(R"({"owner": "ops", "tags": ["a", "b"]})"));

  // Questions echo their constraints; "required" is always present.
  json::value want_questions = at(J(kEveryTypeForm), "questions");
  for (auto& q : want_questions.as_array()) {
    if (!q.as_object().contains("required")) q.as_object()["required"] = false;
  }
  EXPECT_EQ(at(v, "questions"), want_questions) << dump(at(v, "questions"));
  // on_fail defaults to flag.
  EXPECT_EQ(at(v, "rules"), J(R"([
    {"name": "adult", "check": "answers.age == nil or answers.age >= 18", "message": "must be an adult",
     "on_fail": "flag"},
    {"name": "ratio_ok", "check": "answers.ratio ~= 0", "message": "ratio must not be 0", "on_fail": "reject"}
  ])"))
      << dump(at(v, "rules"));

  // GET gives the same document.
  HttpResponse got = get_form(server(), id);
  ASSERT_EQ(got.status, 200) << got.summary();
  EXPECT_EQ(got.json(), v);
}

TEST_F(FormsTest, CreateRejectsDefinitionsThatCannotWork) {
  struct Case {
    const char* definition;
    const char* field;
  };
  const Case cases[] = {
      {R"({"title":"t","questions":[{"key":"a","type":"text"},{"key":"b","type":"choice"}]})", "questions[1].options"},
      {R"({"title":"t","questions":[{"key":"a","type":"choice","options":[]}]})", "questions[0].options"},
      {R"({"title":"t","questions":[{"key":"a","type":"integer","min":1.5}]})", "questions[0].min"},
      {R"({"title":"t","questions":[{"key":"a","type":"integer","min":5,"max":1}]})", "questions[0].min"},
      {R"({"title":"t","questions":[{"key":"a","type":"number","max":"9"}]})", "questions[0].max"},
      {R"({"title":"t","questions":[{"key":"a","type":"text"},{"key":"b","type":"text"},{"key":"c","type":"colour"}]})",
       "questions[2].type"},
      {R"({"title":"t","questions":[{"key":"a"}]})", "questions[0].type"},
      {R"({"title":"t","questions":[{"key":"a","type":"text"},{"key":"a","type":"integer"}]})", "questions[1].key"},
      {R"({"title":"t","questions":[{"key":"Age","type":"integer"}]})", "questions[0].key"},
      {R"({"title":"t","questions":[{"key":"1a","type":"integer"}]})", "questions[0].key"},
      {R"({"title":"t","questions":[{"key":"a-b","type":"integer"}]})", "questions[0].key"},
      {R"({"title":"t","questions":[{"type":"integer"}]})", "questions[0].key"},
      {R"({"title":"t","questions":[{"key":"a","type":"text","min":1}]})", "questions[0].min"},
      {R"({"title":"t","questions":[{"key":"a","type":"integer","max_length":3}]})", "questions[0].max_length"},
      {R"({"title":"t","questions":[{"key":"a","type":"boolean","options":["y"]}]})", "questions[0].options"},
      {R"({"title":"t","questions":[{"key":"a","type":"choice","options":["x"],"min_selected":1}]})",
       "questions[0].min_selected"},
      {R"({"title":"t","questions":[{"key":"a","type":"geopoint","min":0}]})", "questions[0].min"},
      {R"({"title":"t","questions":[{"key":"a","type":"text","pattern":"("}]})", "questions[0].pattern"},
      {R"({"title":"t","questions":[{"key":"a","type":"text","max_length":-1}]})", "questions[0].max_length"},
      {R"({"title":"t","questions":[{"key":"a","type":"text","min_length":5,"max_length":2}]})",
       "questions[0].min_length"},
      {R"({"title":"t","questions":[{"key":"a","type":"multi_choice","options":["x","y"],"min_selected":3}]})",
       "questions[0].min_selected"},
      {R"({"title":"t","questions":[{"key":"a","type":"multi_choice","options":["x","y"],"min_selected":2,"max_selected":1}]})",
       "questions[0].min_selected"},
      {R"({"title":"t","questions":[{"key":"a","type":"choice","options":["x","x"]}]})", "questions[0].options[1]"},
      {R"({"title":"t","questions":[{"key":"a","type":"choice","options":["x",""]}]})", "questions[0].options[1]"},
      {R"({"title":"t","questions":[{"key":"a","type":"text","required":"yes"}]})", "questions[0].required"},
      {R"({"title":"t","questions":[{"key":"a","type":"text","metadata":[]}]})", "questions[0].metadata"},
      {R"({"title":"t","questions":[{"key":"a","type":"integer"}],
           "rules":[{"name":"r","check":"answers.a >","message":"m"}]})",
       "rules[0].check"},
      {R"({"title":"t","questions":[{"key":"a","type":"integer"}],
           "rules":[{"name":"ok","check":"true","message":"m"},{"name":"r","check":"while true do end","message":"m"}]})",
       "rules[1].check"},
      {R"({"title":"t","questions":[],"rules":[{"name":"r","check":"true","message":"m","on_fail":"explode"}]})",
       "rules[0].on_fail"},
      {R"({"title":"t","questions":[],"rules":[{"name":"r","check":"true"}]})", "rules[0].message"},
      {R"({"title":"t","questions":[],"rules":[{"check":"true","message":"m"}]})", "rules[0].name"},
      {R"({"title":"t","questions":[],"rules":[{"name":"r","check":"true","message":"m"},{"name":"r","check":"false","message":"m"}]})",
       "rules[1].name"},
      {R"({"title":"t","questions":[],"rules":[{"name":"r","check":"true","message":"m","when":"always"}]})",
       "rules[0].when"},
      {R"({"questions":[]})", "title"},
      {R"({"title":"","questions":[]})", "title"},
      {R"({"title":"t"})", "questions"},
      {R"({"title":"t","questions":{}})", "questions"},
      {R"({"title":"t","questions":[],"colour":"red"})", "colour"},
      {R"({"title":"t","questions":[],"metadata":"x"})", "metadata"},
  };
  std::size_t forms_before = all_form_ids().size();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.definition);
    HttpResponse r = create_form(server(), J(c.definition));
    EXPECT_TRUE(HasFieldError(r, c.field));
  }
  EXPECT_EQ(all_form_ids().size(), forms_before) << "a refused definition was stored";
}

TEST_F(FormsTest, KeysUpTo64CharactersAreAccepted) {
  std::string key64 = "k" + std::string(63, 'x');
  json::value def = J(R"({"title":"t","questions":[{"type":"integer"}]})");
  def.at("questions").as_array()[0].as_object()["key"] = key64;
  HttpResponse ok = create_form(server(), def);
  ASSERT_EQ(ok.status, 201) << ok.summary();
  EXPECT_EQ(str(arr(ok.json(), "questions")[0], "key"), key64);

  def.at("questions").as_array()[0].as_object()["key"] = key64 + "x";
  EXPECT_TRUE(HasFieldError(create_form(server(), def), "questions[0].key"));
}

TEST_F(FormsTest, UnknownFormIsNotFound) {
  const std::string missing = "/v1/forms/01900000-0000-7000-8000-000000000000";
  EXPECT_TRUE(IsProblem(server().get(missing, server().admin()), 404, "not-found"));
  EXPECT_TRUE(IsProblem(server().request("PATCH", missing, admin_json(), R"({"title":"x"})"), 404, "not-found"));
  EXPECT_TRUE(IsProblem(server().request("DELETE", missing, server().admin()), 404, "not-found"));
  EXPECT_TRUE(IsProblem(server().get(missing + "/questions", server().admin()), 404, "not-found"));
  EXPECT_TRUE(
      IsProblem(server().request("POST", missing + "/responses", admin_json(), R"({"answers":{}})"), 404, "not-found"));
  EXPECT_TRUE(IsProblem(server().get(missing + "/responses", server().admin()), 404, "not-found"));
}

TEST_F(FormsTest, ListWalksEveryFormOnceWithCursors) {
  std::set<std::string> created;
  for (int i = 0; i < 3; ++i) {
    std::string id = create_form_id(server(), simple_form("list " + std::to_string(i)));
    ASSERT_FALSE(id.empty());
    created.insert(id);
  }
  std::vector<std::string> one_by_one = all_form_ids(1);
  std::vector<std::string> at_once = all_form_ids(1000);
  EXPECT_EQ(one_by_one, at_once);
  std::set<std::string> unique(one_by_one.begin(), one_by_one.end());
  EXPECT_EQ(unique.size(), one_by_one.size()) << "a form was listed twice";
  for (const auto& id : created) EXPECT_EQ(unique.count(id), 1u) << id;

  // Items are whole forms; a full page has a cursor; "cursor" is a synonym of "after".
  HttpResponse first = server().get("/v1/forms?limit=1", server().admin());
  ASSERT_EQ(first.status, 200) << first.summary();
  json::value page = first.json();
  ASSERT_EQ(arr(page, "items").size(), 1u);
  EXPECT_EQ(str(arr(page, "items")[0], "id"), one_by_one[0]);
  EXPECT_FALSE(arr(arr(page, "items")[0], "questions").empty());
  std::string cursor = str(page, "next_cursor");
  ASSERT_FALSE(cursor.empty());
  HttpResponse by_after = server().get("/v1/forms?limit=1&after=" + cursor, server().admin());
  HttpResponse by_cursor = server().get("/v1/forms?limit=1&cursor=" + cursor, server().admin());
  ASSERT_EQ(by_after.status, 200);
  EXPECT_EQ(str(arr(by_after.json(), "items")[0], "id"), one_by_one[1]);
  EXPECT_EQ(by_cursor.json(), by_after.json());

  EXPECT_TRUE(HasFieldError(server().get("/v1/forms?limit=0", server().admin()), "limit"));
  EXPECT_TRUE(HasFieldError(server().get("/v1/forms?limit=1001", server().admin()), "limit"));
  EXPECT_TRUE(HasFieldError(server().get("/v1/forms?limit=ten", server().admin()), "limit"));
}

TEST_F(FormsTest, PatchOfTitleDescriptionOrMetadataKeepsTheVersion) {
  std::string id = create_form_id(server(), simple_form("Before"));
  ASSERT_FALSE(id.empty());
  HttpResponse r = patch_form(server(), id, J(R"({"title":"After","description":"new","metadata":{"k":1}})"));
  ASSERT_EQ(r.status, 200) << r.summary();
  json::value v = r.json();
  EXPECT_EQ(at(v, "version"), json::value(1));
  EXPECT_EQ(str(v, "title"), "After");
  EXPECT_EQ(str(v, "description"), "new");
  EXPECT_EQ(at(v, "metadata"), J(R"({"k":1})"));
  EXPECT_EQ(at(v, "questions"), J(R"([{"key":"a","type":"integer","required":false}])"));
  EXPECT_EQ(get_form(server(), id).json(), v);

  // null clears description and metadata.
  HttpResponse cleared = patch_form(server(), id, J(R"({"description":null,"metadata":null})"));
  ASSERT_EQ(cleared.status, 200) << cleared.summary();
  EXPECT_EQ(str(cleared.json(), "description"), "");
  EXPECT_EQ(at(cleared.json(), "metadata"), J("{}"));
  EXPECT_EQ(at(cleared.json(), "version"), json::value(1));
}

TEST_F(FormsTest, PatchOfQuestionsOrRulesMakesANewVersion) {
  std::string id = create_form_id(server(), simple_form());
  ASSERT_FALSE(id.empty());

  HttpResponse q = patch_form(server(), id, J(R"({"questions":[{"key":"a","type":"integer","max":5}]})"));
  ASSERT_EQ(q.status, 200) << q.summary();
  EXPECT_EQ(at(q.json(), "version"), json::value(2));
  EXPECT_EQ(at(q.json(), "questions"), J(R"([{"key":"a","type":"integer","required":false,"max":5}])"));

  HttpResponse rules = patch_form(server(), id, J(R"({"rules":[{"name":"r","check":"true","message":"m"}]})"));
  ASSERT_EQ(rules.status, 200) << rules.summary();
  EXPECT_EQ(at(rules.json(), "version"), json::value(3));
  EXPECT_EQ(arr(rules.json(), "rules").size(), 1u);

  // Sending the same questions again changes nothing.
  HttpResponse same = patch_form(server(), id, J(R"({"questions":[{"key":"a","type":"integer","max":5}]})"));
  ASSERT_EQ(same.status, 200) << same.summary();
  EXPECT_EQ(at(same.json(), "version"), json::value(3));

  // A change that cannot work is refused and leaves the form as it was.
  EXPECT_TRUE(HasFieldError(patch_form(server(), id, J(R"({"questions":[{"key":"a","type":"colour"}]})")),
                            "questions[0].type"));
  EXPECT_TRUE(HasFieldError(patch_form(server(), id, J(R"({"rules":[{"name":"r","check":"1 +","message":"m"}]})")),
                            "rules[0].check"));
  EXPECT_TRUE(HasFieldError(patch_form(server(), id, J(R"({"title":""})")), "title"));
  EXPECT_TRUE(HasFieldError(patch_form(server(), id, J(R"({"version":7})")), "version"));
  json::value now = get_form(server(), id).json();
  EXPECT_EQ(at(now, "version"), json::value(3));
  EXPECT_EQ(at(now, "questions"), J(R"([{"key":"a","type":"integer","required":false,"max":5}])"));

  // rules: null removes every rule (a change).
  HttpResponse no_rules = patch_form(server(), id, J(R"({"rules":null})"));
  ASSERT_EQ(no_rules.status, 200) << no_rules.summary();
  EXPECT_EQ(at(no_rules.json(), "version"), json::value(4));
  EXPECT_TRUE(arr(no_rules.json(), "rules").empty());
}

// Every version keeps the definition it had, listed oldest first, paged.
TEST_F(FormsTest, VersionsKeepTheDefinitionsTheyHad) {
  std::string id = create_form_id(server(), simple_form());
  ASSERT_FALSE(id.empty());
  json::value first_questions = at(get_form(server(), id).json(), "questions");
  ASSERT_EQ(patch_form(server(), id, J(R"({"questions":[{"key":"a","type":"integer","max":5}]})")).status, 200);
  ASSERT_EQ(patch_form(server(), id, J(R"({"title":"renamed"})")).status, 200);  // no new version
  ASSERT_EQ(patch_form(server(), id, J(R"({"rules":[{"name":"r","check":"true","message":"m"}]})")).status, 200);

  HttpResponse all = server().get("/v1/forms/" + id + "/versions", server().admin());
  ASSERT_EQ(all.status, 200) << all.summary();
  json::value listed = all.json();
  const json::array& items = arr(listed, "items");
  ASSERT_EQ(items.size(), 3u) << all.body;
  EXPECT_EQ(num(items[0], "version"), 1);
  EXPECT_EQ(at(items[0], "questions"), first_questions);
  EXPECT_EQ(num(items[1], "version"), 2);
  EXPECT_EQ(at(items[1], "questions"), J(R"([{"key":"a","type":"integer","required":false,"max":5}])"));
  EXPECT_TRUE(arr(items[1], "rules").empty());
  EXPECT_EQ(num(items[2], "version"), 3);
  EXPECT_EQ(str(items[2], "title"), "renamed");
  EXPECT_EQ(arr(items[2], "rules").size(), 1u);
  EXPECT_FALSE(str(items[2], "created_at").empty());
  EXPECT_TRUE(at(listed, "next_cursor").is_null());

  HttpResponse page = server().get("/v1/forms/" + id + "/versions?limit=2", server().admin());
  ASSERT_EQ(page.status, 200) << page.summary();
  EXPECT_EQ(arr(page.json(), "items").size(), 2u);
  std::string cursor = str(page.json(), "next_cursor");
  EXPECT_EQ(cursor, "2");
  json::value rest = server().get("/v1/forms/" + id + "/versions?after=" + cursor, server().admin()).json();
  ASSERT_EQ(arr(rest, "items").size(), 1u) << dump(rest);
  EXPECT_EQ(num(arr(rest, "items")[0], "version"), 3);

  EXPECT_TRUE(IsValidationError(server().get("/v1/forms/" + id + "/versions?after=x", server().admin()), {"after"}));
  EXPECT_EQ(server().get("/v1/forms/0193a1b2-c3d4-7000-8000-000000000000/versions", server().admin()).status, 404);
  App app = make_app(server(), "not-admin");
  EXPECT_EQ(server().get("/v1/forms/" + id + "/versions", bearer(app.token)).status, 403);
}

TEST_F(FormsTest, ResponsesAreCheckedAgainstTheCurrentVersion) {
  std::string id = create_form_id(server(), simple_form());
  ASSERT_FALSE(id.empty());
  HttpResponse v1 = submit(server(), id, J(R"({"a":1})"));
  ASSERT_EQ(v1.status, 201) << v1.summary();
  EXPECT_EQ(at(v1.json(), "form_version"), json::value(1));

  HttpResponse patched = patch_form(
      server(), id, J(R"({"questions":[{"key":"a","type":"integer"},{"key":"b","type":"text","required":true}]})"));
  ASSERT_EQ(patched.status, 200) << patched.summary();
  ASSERT_EQ(at(patched.json(), "version"), json::value(2));

  EXPECT_TRUE(IsValidationError(submit(server(), id, J(R"({"a":1})")), {"b"}));
  HttpResponse v2 = submit(server(), id, J(R"({"a":1,"b":"x"})"));
  ASSERT_EQ(v2.status, 201) << v2.summary();
  EXPECT_EQ(at(v2.json(), "form_version"), json::value(2));

  // The first response keeps the version it was checked against.
  HttpResponse old = server().get(responses_path(id) + "/" + str(v1.json(), "id"), server().admin());
  ASSERT_EQ(old.status, 200) << old.summary();
  EXPECT_EQ(at(old.json(), "form_version"), json::value(1));
}

TEST_F(FormsTest, QuestionsCanBeManagedOneByOne) {
  std::string id = create_form_id(
      server(), J(R"({"title":"q","questions":[{"key":"name","type":"text","max_length":5,"label":"Name"}]})"));
  ASSERT_FALSE(id.empty());
  const std::string base = "/v1/forms/" + id + "/questions";

  HttpResponse list = server().get(base, server().admin());
  ASSERT_EQ(list.status, 200) << list.summary();
  EXPECT_EQ(list.json(), J(R"({"form_id":")" + id + R"(","form_version":1,"items":[
      {"key":"name","type":"text","label":"Name","required":false,"max_length":5}]})"));

  // Add.
  HttpResponse added = server().request("POST", base, admin_json(), R"({"key":"mail","type":"email","required":true})");
  ASSERT_EQ(added.status, 201) << added.summary();
  EXPECT_EQ(added.json(),
            J(R"({"key":"mail","type":"email","required":true,"form_id":")" + id + R"(","form_version":2})"));
  EXPECT_TRUE(IsValidationError(submit(server(), id, J(R"({"name":"Al"})")), {"mail"}));

  // A duplicate or broken question is refused without a new version.
  EXPECT_TRUE(
      HasFieldError(server().request("POST", base, admin_json(), R"({"key":"mail","type":"text"})"), "question.key"));
  EXPECT_TRUE(
      HasFieldError(server().request("POST", base, admin_json(), R"({"key":"x","type":"colour"})"), "question.type"));
  EXPECT_TRUE(HasFieldError(server().request("POST", base, admin_json(), R"({"key":"x","type":"choice"})"),
                            "question.options"));

  // Get one.
  HttpResponse one = server().get(base + "/mail", server().admin());
  ASSERT_EQ(one.status, 200) << one.summary();
  EXPECT_EQ(at(one.json(), "form_version"), json::value(2));
  EXPECT_EQ(str(one.json(), "type"), "email");
  EXPECT_TRUE(IsProblem(server().get(base + "/nope", server().admin()), 404, "not-found"));

  // Patch merges: the label changes, max_length stays.
  EXPECT_TRUE(IsValidationError(submit(server(), id, J(R"({"name":"Alexander","mail":"a@b.org"})")), {"name"}));
  HttpResponse relabel = server().request("PATCH", base + "/name", admin_json(), R"({"label":"Full name"})");
  ASSERT_EQ(relabel.status, 200) << relabel.summary();
  EXPECT_EQ(relabel.json(), J(R"({"key":"name","type":"text","label":"Full name","required":false,"max_length":5,
                                  "form_id":")" +
                              id + R"(","form_version":3})"));
  // null removes a constraint, which the next submission feels.
  HttpResponse unbounded = server().request("PATCH", base + "/name", admin_json(), R"({"max_length":null})");
  ASSERT_EQ(unbounded.status, 200) << unbounded.summary();
  EXPECT_FALSE(unbounded.json().as_object().contains("max_length")) << unbounded.body;
  EXPECT_EQ(at(unbounded.json(), "form_version"), json::value(4));
  HttpResponse long_name = submit(server(), id, J(R"({"name":"Alexander","mail":"a@b.org"})"));
  EXPECT_EQ(long_name.status, 201) << long_name.summary();
  EXPECT_EQ(at(long_name.json(), "form_version"), json::value(4));

  // The key cannot change; a constraint of another type is refused.
  EXPECT_TRUE(
      HasFieldError(server().request("PATCH", base + "/name", admin_json(), R"({"key":"other"})"), "question.key"));
  EXPECT_TRUE(HasFieldError(server().request("PATCH", base + "/name", admin_json(), R"({"min":1})"), "question.min"));
  EXPECT_TRUE(IsProblem(server().request("PATCH", base + "/nope", admin_json(), R"({"label":"x"})"), 404, "not-found"));
  EXPECT_EQ(at(server().get(base, server().admin()).json(), "form_version"), json::value(4));

  // Delete.
  HttpResponse removed = server().request("DELETE", base + "/mail", server().admin());
  ASSERT_EQ(removed.status, 200) << removed.summary();
  EXPECT_EQ(at(removed.json(), "form_version"), json::value(5));
  ASSERT_EQ(arr(removed.json(), "items").size(), 1u);
  EXPECT_EQ(str(arr(removed.json(), "items")[0], "key"), "name");
  EXPECT_TRUE(IsProblem(server().get(base + "/mail", server().admin()), 404, "not-found"));
  EXPECT_TRUE(IsProblem(server().request("DELETE", base + "/mail", server().admin()), 404, "not-found"));
  EXPECT_TRUE(IsValidationError(submit(server(), id, J(R"({"name":"Al","mail":"a@b.org"})")), {"mail"}));

  // The form document agrees.
  json::value form = get_form(server(), id).json();
  EXPECT_EQ(at(form, "version"), json::value(5));
  EXPECT_EQ(at(form, "questions"), J(R"([{"key":"name","type":"text","label":"Full name","required":false}])"));
}

TEST_F(FormsTest, ArchivedFormsTakeNoResponsesAndNoChanges) {
  std::string id = create_form_id(server(), simple_form("To archive"));
  ASSERT_FALSE(id.empty());
  HttpResponse before = submit(server(), id, J(R"({"a":1})"));
  ASSERT_EQ(before.status, 201) << before.summary();
  std::string rid = str(before.json(), "id");

  HttpResponse archived = server().request("DELETE", "/v1/forms/" + id, server().admin());
  ASSERT_EQ(archived.status, 200) << archived.summary();
  EXPECT_EQ(str(archived.json(), "status"), "archived");
  EXPECT_FALSE(str(archived.json(), "archived_at").empty()) << archived.body;
  EXPECT_EQ(at(archived.json(), "version"), json::value(1));
  json::value got = get_form(server(), id).json();
  EXPECT_EQ(str(got, "status"), "archived");
  EXPECT_EQ(str(got, "archived_at"), str(archived.json(), "archived_at"));

  // Archiving again changes nothing.
  HttpResponse again = server().request("DELETE", "/v1/forms/" + id, server().admin());
  EXPECT_EQ(again.status, 200) << again.summary();
  EXPECT_EQ(str(again.json(), "archived_at"), str(archived.json(), "archived_at"));

  EXPECT_TRUE(IsProblem(submit(server(), id, J(R"({"a":2})")), 409, "form-archived"));
  EXPECT_TRUE(IsProblem(correct(server(), id, rid, J(R"({"a":3})")), 409, "form-archived"));
  EXPECT_TRUE(IsProblem(patch_form(server(), id, J(R"({"title":"x"})")), 409, "form-archived"));
  EXPECT_TRUE(IsProblem(patch_form(server(), id, J(R"({"questions":[]})")), 409, "form-archived"));
  const std::string questions = "/v1/forms/" + id + "/questions";
  EXPECT_TRUE(IsProblem(server().request("POST", questions, admin_json(), R"({"key":"b","type":"text"})"), 409,
                        "form-archived"));
  EXPECT_TRUE(
      IsProblem(server().request("PATCH", questions + "/a", admin_json(), R"({"label":"x"})"), 409, "form-archived"));
  EXPECT_TRUE(IsProblem(server().request("DELETE", questions + "/a", server().admin()), 409, "form-archived"));

  // Everything stays readable.
  EXPECT_EQ(server().get(questions, server().admin()).status, 200);
  HttpResponse read = server().get(responses_path(id) + "/" + rid, server().admin());
  ASSERT_EQ(read.status, 200) << read.summary();
  EXPECT_EQ(at(read.json(), "answers"), J(R"({"a":1})"));
  EXPECT_EQ(at(read.json(), "revision"), json::value(1));
  EXPECT_EQ(ids_of(list_all_responses(server(), id)), std::vector<std::string>{rid});
  EXPECT_EQ(server().get(responses_path(id) + "/" + rid + "/revisions", server().admin()).status, 200);
  json::value still = get_form(server(), id).json();
  EXPECT_EQ(at(still, "version"), json::value(1));
  EXPECT_EQ(str(still, "title"), "To archive");

  // The listing shows it as archived.
  HttpResponse listed = server().get("/v1/forms?limit=1000", server().admin());
  bool seen = false;
  json::value listing = listed.json();
  for (const auto& f : arr(listing, "items")) {
    if (str(f, "id") == id) {
      seen = true;
      EXPECT_EQ(str(f, "status"), "archived");
    }
  }
  EXPECT_TRUE(seen);
}

TEST_F(FormsTest, AppTokensCannotManageOrReadForms) {
  std::string id = create_form_id(server(), simple_form("Admin only"));
  ASSERT_FALSE(id.empty());
  HttpResponse submitted = submit(server(), id, J(R"({"a":1})"));
  ASSERT_EQ(submitted.status, 201);
  std::string rid = str(submitted.json(), "id");
  App app = make_app(server(), fx::unique("forms-app"));
  ASSERT_FALSE(app.token.empty());
  Headers app_h = bearer(app.token);
  Headers app_j = token_json(app.token);
  const std::string form = "/v1/forms/" + id;

  struct Call {
    const char* method;
    std::string target;
    std::string body;
  };
  const std::vector<Call> calls = {
      {"POST", "/v1/forms", dump(simple_form())},
      {"GET", "/v1/forms", ""},
      {"GET", form, ""},
      {"PATCH", form, R"({"title":"taken over"})"},
      {"DELETE", form, ""},
      {"GET", form + "/questions", ""},
      {"POST", form + "/questions", R"({"key":"b","type":"text"})"},
      {"GET", form + "/questions/a", ""},
      {"PATCH", form + "/questions/a", R"({"label":"x"})"},
      {"DELETE", form + "/questions/a", ""},
      {"GET", form + "/responses", ""},
      {"GET", form + "/responses/" + rid, ""},
      {"GET", form + "/responses/" + rid + "/revisions", ""},
      {"GET", form + "/responses/export?format=csv", ""},
  };
  for (const auto& c : calls) {
    SCOPED_TRACE(std::string(c.method) + " " + c.target);
    bool has_body = !c.body.empty();
    EXPECT_TRUE(IsProblem(server().request(c.method, c.target, has_body ? app_j : app_h, c.body), 403, "forbidden"));
    Headers anonymous = has_body ? json_content() : Headers{};
    EXPECT_TRUE(IsProblem(server().request(c.method, c.target, anonymous, c.body), 401, "unauthorized"));
    Headers wrong = with(bearer("dsy_app_not-a-real-token-at-all-0000000000000000"), anonymous);
    EXPECT_TRUE(IsProblem(server().request(c.method, c.target, wrong, c.body), 401, "unauthorized"));
  }
  // Nothing changed.
  json::value after = get_form(server(), id).json();
  EXPECT_EQ(str(after, "status"), "active");
  EXPECT_EQ(str(after, "title"), "Admin only");
  EXPECT_EQ(at(after, "version"), json::value(1));
}

}  // namespace
}  // namespace daisy_e2e
