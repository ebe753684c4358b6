// /v1/integrations: what runs after a response or an event lands (admin only).
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "api/replies.h"
#include "api/routes.h"
#include "domain/form.h"
#include "domain/json_fields.h"
#include "http/dispatcher.h"
#include "http/json_body.h"
#include "jobs/job_runner.h"
#include "jobs/kinds/kind_registry.h"
#include "jobs/kinds/script_code.h"
#include "jobs/kinds/sheets_config.h"
#include "jobs/kinds/webhook_signature.h"
#include "jobs/replay.h"
#include "util/ids.h"
#include "util/iso8601.h"
#include "util/time.h"

namespace daisy::api {
namespace {

using http::Request;
using http::Response;
namespace json = boost::json;

constexpr auto rotation_overlap = std::chrono::hours(24);

bool signs_with_secret(const IntegrationDefinition& d) {
  const IntegrationKindRules* kind = find_kind(jobs::integration_kinds(), d.type);
  return kind && kind->signs_with_secret;
}

json::object integration_json(const IntegrationRow& row, const IntegrationDefinition& d) {
  json::object o;
  o["id"] = row.id;
  for (auto& field : d.to_shown_json()) o[field.key()] = field.value();
  if (row.disabled_reason.empty()) {
    o["disabled_reason"] = nullptr;
  } else {
    o["disabled_reason"] = row.disabled_reason;
  }
  if (!row.previous_secret.empty() && row.previous_until > now_utc()) {
    o["previous_secret_expires_at"] = row.previous_until;
  }
  o["created_at"] = row.created_at;
  o["updated_at"] = row.updated_at;
  return o;
}

// The form or app the integration is attached to must exist.
void check_source(ApiContext& ctx, const IntegrationDefinition& d, std::vector<FieldError>& errors) {
  Status status =
      d.source_kind == "form" ? ctx.store.get_form(d.source_id).status() : ctx.store.get_app(d.source_id).status();
  if (status.code() == Status::Code::not_found) {
    errors.push_back({"source." + d.source_kind + "_id", "no " + d.source_kind + " has this id"});
  }
}

// A sheet takes a form's responses, in columns of its questions.
void check_sheet_source(ApiContext& ctx, const IntegrationDefinition& d, std::vector<FieldError>& errors) {
  const auto* sheets = d.config_as<jobs::SheetsConfig>();
  if (!sheets) return;
  if (d.source_kind != "form") {
    errors.push_back({"source.form_id", "is required: a sheets integration writes the responses of a form"});
    return;
  }
  auto form = ctx.store.get_form(d.source_id);
  if (!form.is_ok()) return;  // check_source says why
  json::error_code ec;
  json::value stored = json::parse(form.value().definition, ec);
  auto definition = ec ? std::nullopt : definition_from_json(stored);
  std::vector<std::string> keys;
  if (definition) {
    for (const Question& q : definition->questions) keys.push_back(q.key);
  }
  jobs::check_sheet_columns(*sheets, keys, errors);
}

boost::asio::awaitable<Response> create_integration(ApiContext& ctx, Request& req) {
  auto parsed = http::parse_body_object(req);
  if (auto* refusal = std::get_if<Response>(&parsed)) co_return std::move(*refusal);
  auto definition = parse_integration_definition(std::get<json::object>(parsed), jobs::integration_kinds());
  if (auto* errors = std::get_if<std::vector<FieldError>>(&definition)) {
    co_return http::validation_problem(std::move(*errors));
  }
  const IntegrationDefinition& d = std::get<IntegrationDefinition>(definition);
  std::vector<FieldError> errors;
  check_source(ctx, d, errors);
  check_sheet_source(ctx, d, errors);
  if (!errors.empty()) co_return http::validation_problem(std::move(errors));

  IntegrationRow row;
  row.id = new_uuid_v7();
  row.source_id = d.source_id;
  row.definition = json::serialize(d.to_json());
  if (signs_with_secret(d)) row.secret = jobs::new_webhook_secret();
  row.created_at = row.updated_at = now_utc();
  Status status = co_await ctx.store.create_integration(row);
  if (!status.is_ok()) co_return store_failure(status, "integration");
  ctx.integrations->put(row);

  json::object body = integration_json(row, d);
  // The only time the secret is shown (and after each rotation).
  if (!row.secret.empty()) body["secret"] = row.secret;
  Response r = json_reply(201, body);
  r.headers.emplace_back("Location", "/v1/integrations/" + row.id);
  co_return r;
}

// The stored row and its definition, or the reply that says why not.
std::variant<std::pair<IntegrationRow, IntegrationDefinition>, Response> load(ApiContext& ctx, const std::string& id) {
  auto row = ctx.store.get_integration(id);
  if (!row.is_ok()) return store_failure(row.status(), "integration " + id);
  auto definition = integration_definition_from_json(row.value().definition, jobs::integration_kinds());
  if (!definition) return store_failure(Status::internal("unreadable integration definition"), "integration " + id);
  return std::make_pair(std::move(row.value()), std::move(*definition));
}

Response list_integrations(ApiContext& ctx, Request& req) {
  auto page = page_from_query(req);
  if (auto* refusal = std::get_if<Response>(&page)) return std::move(*refusal);
  const Page& p = std::get<Page>(page);
  auto rows = ctx.store.list_integrations(p);
  if (!rows.is_ok()) return store_failure(rows.status(), "integrations");
  json::array items;
  for (const auto& row : rows.value()) {
    if (auto d = integration_definition_from_json(row.definition, jobs::integration_kinds()))
      items.push_back(integration_json(row, *d));
  }
  std::string last = rows.value().empty() ? std::string() : rows.value().back().id;
  return json_reply(200, page_body(std::move(items), p, std::move(last)));
}

Response get_integration(ApiContext& ctx, Request& req) {
  auto loaded = load(ctx, req.param(0));
  if (auto* refusal = std::get_if<Response>(&loaded)) return std::move(*refusal);
  auto& [row, d] = std::get<0>(loaded);
  json::object body = integration_json(row, d);
  // Where the store keeps one (PostgreSQL), while the receiver is failing.
  auto back_off = ctx.store.receiver_back_off(row.id);
  if (!back_off.is_ok()) return store_failure(back_off.status(), "integration " + row.id);
  const std::int64_t now = now_ms();
  if (const auto& b = back_off.value(); b && (b->failures > 0 || b->paused_until_ms > now)) {
    json::object o;
    o["failures_in_a_row"] = b->failures;
    if (b->paused_until_ms > now) {
      o["paused_until"] = format_utc(Clock::time_point(std::chrono::milliseconds(b->paused_until_ms)));
    } else {
      o["paused_until"] = nullptr;
    }
    body["back_off"] = std::move(o);
  }
  // The latest delivery error (stored with its attempt), until a delivery succeeds.
  const std::string& last_error = row.last_error;
  if (last_error.empty()) {
    body["last_error"] = nullptr;
  } else {
    body["last_error"] = last_error;
  }
  return json_reply(200, body);
}

boost::asio::awaitable<Response> patch_integration(ApiContext& ctx, Request& req) {
  auto parsed = http::parse_body_object(req);
  if (auto* refusal = std::get_if<Response>(&parsed)) co_return std::move(*refusal);
  auto loaded = load(ctx, req.param(0));
  if (auto* refusal = std::get_if<Response>(&loaded)) co_return std::move(*refusal);
  auto& [row, base] = std::get<0>(loaded);
  auto definition = parse_integration_definition(std::get<json::object>(parsed), jobs::integration_kinds(), &base);
  if (auto* errors = std::get_if<std::vector<FieldError>>(&definition)) {
    co_return http::validation_problem(std::move(*errors));
  }
  const IntegrationDefinition& d = std::get<IntegrationDefinition>(definition);
  std::vector<FieldError> errors;
  check_sheet_source(ctx, d, errors);
  if (!errors.empty()) co_return http::validation_problem(std::move(errors));
  row.definition = json::serialize(d.to_json());
  if (d.enabled && !base.enabled) row.disabled_reason.clear();  // enabled again by hand
  row.updated_at = now_utc();
  Status status = co_await ctx.store.update_integration(row);
  if (!status.is_ok()) co_return store_failure(status, "integration " + row.id);
  ctx.integrations->put(row);
  co_return json_reply(200, integration_json(row, d));
}

boost::asio::awaitable<Response> delete_integration(ApiContext& ctx, Request& req) {
  const std::string& id = req.param(0);
  Status status = co_await ctx.store.delete_integration(id);
  if (!status.is_ok()) co_return store_failure(status, "integration " + id);
  ctx.integrations->remove(id);
  co_return Response(204, std::string(), "");
}

// POST /v1/integrations/{id}/secret: a new signing secret; the old one keeps
// signing beside it for 24 hours, so receivers can switch without a gap.
boost::asio::awaitable<Response> rotate_secret(ApiContext& ctx, Request& req) {
  auto loaded = load(ctx, req.param(0));
  if (auto* refusal = std::get_if<Response>(&loaded)) co_return std::move(*refusal);
  auto& [row, d] = std::get<0>(loaded);
  if (!signs_with_secret(d)) {
    co_return http::problem(409, "no-secret", "A " + d.type + " integration has no signing secret.");
  }
  row.previous_secret = row.secret;
  row.previous_until = format_utc(Clock::now() + rotation_overlap);
  row.secret = jobs::new_webhook_secret();
  row.updated_at = now_utc();
  Status status = co_await ctx.store.update_integration(row);
  if (!status.is_ok()) co_return store_failure(status, "integration " + row.id);
  ctx.integrations->put(row);
  json::object body = integration_json(row, d);
  body["secret"] = row.secret;
  co_return json_reply(200, body);
}

std::optional<std::int64_t> read_time(const json::object& body, std::string_view key, std::vector<FieldError>& errors) {
  const json::value* v = body.if_contains(key);
  std::optional<std::int64_t> ns;
  if (v && v->is_string()) ns = parse_timestamp_ns(v->as_string());
  if (!ns) errors.push_back({std::string(key), "is required: an ISO 8601 date and time"});
  return ns;
}

// `refused`: why the readers refused a page, for Kind::busy.
Response replay_refusal_reply(const jobs::ReplayRefusal& refusal, const std::string& id,
                              http::ReaderPool::Outcome refused) {
  using Kind = jobs::ReplayRefusal::Kind;
  switch (refusal.kind) {
    case Kind::not_found:
      return http::not_found("integration " + id);
    case Kind::disabled:
      return http::problem(409, "conflict", "The integration is disabled: enable it before a replay.");
    case Kind::too_many:
      return http::validation_problem({{"since", "the range holds more than " + std::to_string(jobs::max_replay_jobs) +
                                                     " records: replay it in smaller ranges"}});
    case Kind::busy:
      return http::readers_busy_reply(refused);
    case Kind::store_failed:
      break;
  }
  return store_failure(refusal.status, refusal.detail);
}

// POST /v1/integrations/{id}/replay {"since", "until"}: jobs/replay.h.
boost::asio::awaitable<Response> replay(ApiContext& ctx, Request& req) {
  auto parsed = http::parse_body_object(req);
  if (auto* refusal = std::get_if<Response>(&parsed)) co_return std::move(*refusal);
  const json::object& body = std::get<json::object>(parsed);
  std::vector<FieldError> errors;
  reject_unknown_fields(body, {"since", "until"}, errors);
  auto since = read_time(body, "since", errors);
  auto until = read_time(body, "until", errors);
  if (since && until && *until <= *since) errors.push_back({"until", "must be after since"});
  if (!errors.empty()) co_return http::validation_problem(std::move(errors));
  std::string id = req.param(0);
  jobs::ReplayServices services{ctx.store, ctx.store, ctx.store, *ctx.integrations, ctx.job_runner, {}};
  http::ReaderPool::Outcome refused = http::ReaderPool::Outcome::ran;
  services.run_read = runner_on(ctx.readers, &refused);
  jobs::ReplayRange range{id, *since, *until};
  jobs::ReplayOutcome outcome = co_await jobs::replay(services, std::move(range));
  if (auto* refusal = std::get_if<jobs::ReplayRefusal>(&outcome)) {
    co_return replay_refusal_reply(*refusal, id, refused);
  }
  co_return json_reply(202, json::object{{"integration_id", id}, {"jobs", std::get<jobs::Replayed>(outcome).jobs}});
}

// POST /v1/integrations/{id}/test {"record": {...}}: runs the integration's
// script (or transform) on a sample record and answers what it returned, its
// log lines and its cost. Nothing is stored; a script's HTTP calls are made.
boost::asio::awaitable<Response> test_script(ApiContext& ctx, Request& req) {
  auto parsed = http::parse_body_object(req);
  if (auto* refusal = std::get_if<Response>(&parsed)) co_return std::move(*refusal);
  const json::object& body = std::get<json::object>(parsed);
  std::vector<FieldError> errors;
  reject_unknown_fields(body, {"record"}, errors);
  const json::value* record = body.if_contains("record");
  if (!record || !record->is_object()) errors.push_back({"record", "is required: a sample response or event (object)"});
  if (!errors.empty()) co_return http::validation_problem(std::move(errors));
  auto loaded = load(ctx, req.param(0));
  if (auto* refusal = std::get_if<Response>(&loaded)) co_return std::move(*refusal);
  auto& [row, d] = std::get<0>(loaded);
  if (!jobs::script_of(d) || !ctx.job_runner) {
    co_return http::problem(409, "no-script", "This integration has no script or transform to test.");
  }
  jobs::ActiveIntegration integration{row.id, d, {}, {}, {}, {}, {}};
  auto run = co_await ctx.job_runner->try_script(integration, *record);
  if (!run) co_return http::problem(503, "busy", "The script runners are busy: try again shortly.");
  json::object reply = run->to_json();
  if (d.type != "script") reply["skipped"] = run->ok && run->output.is_null();
  co_return json_reply(200, reply);
}

}  // namespace

void register_integration_routes(http::Router& router, ApiContext& ctx) {
  using http::Access;
  using http::Method;
  http::RouteOptions json_body;
  json_body.content_types = {"application/json"};
  router.add(Method::post, "/v1/integrations", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return create_integration(ctx, req); }), json_body);
  router.add(Method::get, "/v1/integrations", Access::admin,
             http::SyncHandler([&ctx](Request& req) { return list_integrations(ctx, req); }));
  router.add(Method::get, "/v1/integrations/{id}", Access::admin,
             http::SyncHandler([&ctx](Request& req) { return get_integration(ctx, req); }));
  router.add(Method::patch, "/v1/integrations/{id}", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return patch_integration(ctx, req); }), json_body);
  router.add(Method::del, "/v1/integrations/{id}", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return delete_integration(ctx, req); }));
  router.add(Method::post, "/v1/integrations/{id}/secret", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return rotate_secret(ctx, req); }));
  router.add(Method::post, "/v1/integrations/{id}/replay", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return replay(ctx, req); }), json_body);
  router.add(Method::post, "/v1/integrations/{id}/test", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return test_script(ctx, req); }), json_body);
}

}  // namespace daisy::api
