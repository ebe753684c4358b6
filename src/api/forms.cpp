// /v1/forms and /v1/forms/{id}/questions: form definitions (admin only).
// Any change to questions or rules makes a new version.
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "api/replies.h"
#include "api/routes.h"
#include "forms/form_cache.h"
#include "http/json_body.h"
#include "util/ids.h"
#include "util/time.h"

namespace daisy::api {
namespace {

using http::Request;
using http::Response;
namespace json = boost::json;
using forms::CompiledForm;
using forms::form_from_row;

Response form_reply(int status, const Form& form) { return json_reply(status, form.to_json()); }

// Compiles the rules of a definition: the 422 problem when one does not compile.
std::variant<std::shared_ptr<RuleSet>, Response> compile_rules(ApiContext& ctx, const FormDefinition& def) {
  auto compiled = RuleSet::compile(def.rules, ctx.forms->rule_limits());
  if (auto* errors = std::get_if<std::vector<FieldError>>(&compiled)) {
    return http::validation_problem(std::move(*errors), "A rule does not compile.");
  }
  return std::get<std::shared_ptr<RuleSet>>(compiled);
}

// Writes def as the next version of current (or the same version when only
// title, description or metadata changed) and installs it in the cache.
boost::asio::awaitable<Response> save(ApiContext& ctx, const CompiledForm& current, FormDefinition def,
                                      bool new_version, int success_status,
                                      std::function<Response(const Form&)> reply) {
  auto rules = compile_rules(ctx, def);
  if (auto* refusal = std::get_if<Response>(&rules)) co_return std::move(*refusal);
  auto compiled = std::make_shared<CompiledForm>();
  compiled->form = current.form;
  compiled->form.definition = std::move(def);
  compiled->form.version = current.form.version + (new_version ? 1 : 0);
  compiled->form.updated_at = now_utc();
  compiled->rules = std::get<std::shared_ptr<RuleSet>>(rules);
  FormRow row{
      compiled->form.id,         compiled->form.version,    json::serialize(compiled->form.definition.to_json()),
      compiled->form.created_at, compiled->form.updated_at, ""};
  Status status = co_await ctx.store.update_form(std::move(row), new_version);
  if (!status.is_ok()) co_return store_failure(status, "form " + current.form.id);
  ctx.forms->put(compiled);
  Response r = reply(compiled->form);
  r.status = success_status;
  co_return r;
}

boost::asio::awaitable<Response> create_form(ApiContext& ctx, Request& req) {
  auto body = http::parse_body_object(req);
  if (auto* refusal = std::get_if<Response>(&body)) co_return std::move(*refusal);
  auto parsed = parse_form_definition(std::get<json::object>(body));
  if (auto* errors = std::get_if<std::vector<FieldError>>(&parsed)) {
    co_return http::validation_problem(std::move(*errors), "The form definition cannot work.");
  }
  auto& def = std::get<FormDefinition>(parsed);
  auto rules = compile_rules(ctx, def);
  if (auto* refusal = std::get_if<Response>(&rules)) co_return std::move(*refusal);

  auto compiled = std::make_shared<CompiledForm>();
  compiled->form.id = new_uuid_v7();
  compiled->form.version = 1;
  compiled->form.created_at = compiled->form.updated_at = now_utc();
  compiled->form.definition = std::move(def);
  compiled->rules = std::get<std::shared_ptr<RuleSet>>(rules);
  FormRow row{
      compiled->form.id,         1, json::serialize(compiled->form.definition.to_json()), compiled->form.created_at,
      compiled->form.updated_at, ""};
  Status status = co_await ctx.store.create_form(std::move(row));
  if (!status.is_ok()) co_return store_failure(status, "form");
  ctx.forms->put(compiled);
  Response r = form_reply(201, compiled->form);
  r.headers.emplace_back("Location", "/v1/forms/" + compiled->form.id);
  co_return r;
}

Response list_forms(ApiContext& ctx, Request& req) {
  auto page = page_from_query(req);
  if (auto* refusal = std::get_if<Response>(&page)) return std::move(*refusal);
  const Page& p = std::get<Page>(page);
  auto rows = ctx.store.list_forms(p);
  if (!rows.is_ok()) return store_failure(rows.status(), "forms");
  json::array items;
  for (const auto& row : rows.value()) {
    // A listing shows definitions: no rule needs compiling for it.
    auto form = form_from_row(row);
    if (!form.is_ok()) return store_failure(form.status(), "form " + row.id);
    items.push_back(form.value().to_json());
  }
  std::string last = rows.value().empty() ? std::string() : rows.value().back().id;
  return json_reply(200, page_body(std::move(items), p, std::move(last)));
}

// Every version of a form, oldest first: {"version", "created_at", and the
// definition as it was}. A new version is made when questions or rules change.
Response list_versions(ApiContext& ctx, Request& req) {
  auto page = page_from_query(req);
  if (auto* refusal = std::get_if<Response>(&page)) return std::move(*refusal);
  const Page& p = std::get<Page>(page);
  auto after = seq_cursor(p);
  if (!after || *after > std::numeric_limits<int>::max()) {
    return http::validation_problem({{"after", "must be a cursor returned as next_cursor"}});
  }
  auto form = ctx.forms->get(req.param(0));
  if (!form.is_ok()) return store_failure(form.status(), "form " + req.param(0));
  auto rows = ctx.store.list_form_versions(req.param(0), static_cast<int>(*after), p.limit);
  if (!rows.is_ok()) return store_failure(rows.status(), "form " + req.param(0));
  json::array items;
  for (const FormRow& row : rows.value()) {
    boost::system::error_code ec;
    json::value definition = json::parse(row.definition, ec);
    if (ec || !definition.is_object())
      return store_failure(Status::internal("a stored form version is not JSON"), "form");
    json::object item;
    item["version"] = row.version;
    item["created_at"] = row.created_at;
    for (auto& [key, value] : definition.as_object()) item[key] = std::move(value);
    items.push_back(std::move(item));
  }
  std::string last = rows.value().empty() ? std::string() : std::to_string(rows.value().back().version);
  return json_reply(200, page_body(std::move(items), p, std::move(last)));
}

Response get_form(ApiContext& ctx, Request& req) {
  auto form = ctx.forms->get(req.param(0));
  if (!form.is_ok()) return store_failure(form.status(), "form " + req.param(0));
  return form_reply(200, form.value()->form);
}

boost::asio::awaitable<Response> patch_form(ApiContext& ctx, Request& req) {
  auto body = http::parse_body_object(req);
  if (auto* refusal = std::get_if<Response>(&body)) co_return std::move(*refusal);
  auto current = ctx.forms->get(req.param(0));
  if (!current.is_ok()) co_return store_failure(current.status(), "form " + req.param(0));
  if (current.value()->form.archived()) {
    co_return http::problem(409, "form-archived", "The form is archived and cannot change.");
  }
  bool new_version = false;
  auto patched = patch_form_definition(current.value()->form.definition, std::get<json::object>(body), new_version);
  if (auto* errors = std::get_if<std::vector<FieldError>>(&patched)) {
    co_return http::validation_problem(std::move(*errors), "The change cannot work.");
  }
  // g++ 12: lambdas and co_await must not share an expression.
  std::function<Response(const Form&)> reply = [](const Form& f) { return form_reply(200, f); };
  co_return co_await save(ctx, *current.value(), std::move(std::get<FormDefinition>(patched)), new_version, 200, reply);
}

boost::asio::awaitable<Response> archive_form(ApiContext& ctx, Request& req) {
  const std::string& id = req.param(0);
  auto current = ctx.forms->get(id);
  if (!current.is_ok()) co_return store_failure(current.status(), "form " + id);
  if (current.value()->form.archived()) co_return form_reply(200, current.value()->form);
  std::string at = now_utc();
  Status status = co_await ctx.store.archive_form(id, at);
  if (!status.is_ok()) co_return store_failure(status, "form " + id);
  auto archived = std::make_shared<CompiledForm>(*current.value());
  archived->form.archived_at = at;
  archived->form.updated_at = at;
  ctx.forms->put(archived);
  co_return form_reply(200, archived->form);
}

// --- questions one by one ------------------------------------------------

json::object questions_body(const Form& form) {
  json::array items;
  for (const auto& q : form.definition.questions) items.push_back(q.to_json());
  return {{"form_id", form.id}, {"form_version", form.version}, {"items", std::move(items)}};
}

json::object question_body(const Form& form, const Question& q) {
  json::object o = q.to_json();
  o["form_id"] = form.id;
  o["form_version"] = form.version;
  return o;
}

Response list_questions(ApiContext& ctx, Request& req) {
  auto form = ctx.forms->get(req.param(0));
  if (!form.is_ok()) return store_failure(form.status(), "form " + req.param(0));
  return json_reply(200, questions_body(form.value()->form));
}

Response get_question(ApiContext& ctx, Request& req) {
  auto form = ctx.forms->get(req.param(0));
  if (!form.is_ok()) return store_failure(form.status(), "form " + req.param(0));
  const Question* q = form.value()->form.definition.question(req.param(1));
  if (!q) return http::not_found("question " + req.param(1));
  return json_reply(200, question_body(form.value()->form, *q));
}

// Loads the form for a question change; a refusal when it is missing or archived.
std::variant<std::shared_ptr<const CompiledForm>, Response> load_for_change(ApiContext& ctx, const std::string& id) {
  auto form = ctx.forms->get(id);
  if (!form.is_ok()) return store_failure(form.status(), "form " + id);
  if (form.value()->form.archived()) {
    return http::problem(409, "form-archived", "The form is archived and cannot change.");
  }
  return form.value();
}

boost::asio::awaitable<Response> add_question(ApiContext& ctx, Request& req) {
  auto body = http::parse_body_object(req);
  if (auto* refusal = std::get_if<Response>(&body)) co_return std::move(*refusal);
  auto loaded = load_for_change(ctx, req.param(0));
  if (auto* refusal = std::get_if<Response>(&loaded)) co_return std::move(*refusal);
  auto current = std::get<std::shared_ptr<const CompiledForm>>(loaded);
  std::vector<FieldError> errors;
  auto q = parse_question(json::value(std::get<json::object>(body)), "question", errors);
  if (q && current->form.definition.question(q->key)) {
    errors.push_back({"question.key", "the form already has a question with this key"});
  }
  if (!errors.empty()) co_return http::validation_problem(std::move(errors), "The question cannot work.");
  FormDefinition def = current->form.definition;
  std::string key = q->key;
  def.questions.push_back(std::move(*q));
  check_questions(def.questions, errors);
  if (!errors.empty()) co_return http::validation_problem(std::move(errors), "The question cannot work.");
  std::function<Response(const Form&)> reply = [key](const Form& f) {
    return json_reply(201, question_body(f, *f.definition.question(key)));
  };
  co_return co_await save(ctx, *current, std::move(def), true, 201, reply);
}

boost::asio::awaitable<Response> patch_question(ApiContext& ctx, Request& req) {
  auto body = http::parse_body_object(req);
  if (auto* refusal = std::get_if<Response>(&body)) co_return std::move(*refusal);
  auto loaded = load_for_change(ctx, req.param(0));
  if (auto* refusal = std::get_if<Response>(&loaded)) co_return std::move(*refusal);
  auto current = std::get<std::shared_ptr<const CompiledForm>>(loaded);
  const std::string& key = req.param(1);
  const Question* existing = current->form.definition.question(key);
  if (!existing) co_return http::not_found("question " + key);
  json::object merged = existing->to_json();
  for (const auto& field : std::get<json::object>(body)) {
    if (field.value().is_null()) {
      merged.erase(field.key());
    } else {
      merged[field.key()] = field.value();
    }
  }
  std::vector<FieldError> errors;
  if (auto it = merged.find("key"); it == merged.end() || it->value() != json::value(key)) {
    errors.push_back({"question.key", "a question's key cannot change; add a new question instead"});
  }
  auto q = parse_question(json::value(merged), "question", errors);
  if (!errors.empty()) co_return http::validation_problem(std::move(errors), "The change cannot work.");
  FormDefinition def = current->form.definition;
  for (auto& item : def.questions) {
    if (item.key == key) item = std::move(*q);
  }
  std::function<Response(const Form&)> reply = [key](const Form& f) {
    return json_reply(200, question_body(f, *f.definition.question(key)));
  };
  co_return co_await save(ctx, *current, std::move(def), true, 200, reply);
}

boost::asio::awaitable<Response> delete_question(ApiContext& ctx, Request& req) {
  auto loaded = load_for_change(ctx, req.param(0));
  if (auto* refusal = std::get_if<Response>(&loaded)) co_return std::move(*refusal);
  auto current = std::get<std::shared_ptr<const CompiledForm>>(loaded);
  std::string key = req.param(1);
  if (!current->form.definition.question(key)) co_return http::not_found("question " + key);
  FormDefinition def = current->form.definition;
  std::erase_if(def.questions, [&](const Question& q) { return q.key == key; });
  std::function<Response(const Form&)> reply = [](const Form& f) { return json_reply(200, questions_body(f)); };
  co_return co_await save(ctx, *current, std::move(def), true, 200, reply);
}

}  // namespace

void register_form_routes(http::Router& router, ApiContext& ctx) {
  using http::Access;
  using http::AsyncHandler;
  using http::Method;
  using http::SyncHandler;
  http::RouteOptions json_body;
  json_body.content_types = {"application/json"};

  router.add(Method::post, "/v1/forms", Access::admin,
             AsyncHandler([&ctx](Request& req) { return create_form(ctx, req); }), json_body);
  router.add(Method::get, "/v1/forms", Access::admin,
             SyncHandler([&ctx](Request& req) { return list_forms(ctx, req); }));
  router.add(Method::get, "/v1/forms/{id}", Access::admin,
             SyncHandler([&ctx](Request& req) { return get_form(ctx, req); }));
  router.add(Method::patch, "/v1/forms/{id}", Access::admin,
             AsyncHandler([&ctx](Request& req) { return patch_form(ctx, req); }), json_body);
  router.add(Method::del, "/v1/forms/{id}", Access::admin,
             AsyncHandler([&ctx](Request& req) { return archive_form(ctx, req); }));
  router.add(Method::get, "/v1/forms/{id}/versions", Access::admin,
             SyncHandler([&ctx](Request& req) { return list_versions(ctx, req); }));
  router.add(Method::get, "/v1/forms/{id}/questions", Access::admin,
             SyncHandler([&ctx](Request& req) { return list_questions(ctx, req); }));
  router.add(Method::post, "/v1/forms/{id}/questions", Access::admin,
             AsyncHandler([&ctx](Request& req) { return add_question(ctx, req); }), json_body);
  router.add(Method::get, "/v1/forms/{id}/questions/{key}", Access::admin,
             SyncHandler([&ctx](Request& req) { return get_question(ctx, req); }));
  router.add(Method::patch, "/v1/forms/{id}/questions/{key}", Access::admin,
             AsyncHandler([&ctx](Request& req) { return patch_question(ctx, req); }), json_body);
  router.add(Method::del, "/v1/forms/{id}/questions/{key}", Access::admin,
             AsyncHandler([&ctx](Request& req) { return delete_question(ctx, req); }));
}

}  // namespace daisy::api
