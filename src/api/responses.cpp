// /v1/forms/{id}/responses: submission (admin or app token), corrections,
// reading (admin). Every response is checked against its form's questions and
// rules before it is stored; the reply is sent only after the commit.
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>

#include "api/export_writer.h"
#include "api/form_cache.h"
#include "api/record_json.h"
#include "api/replies.h"
#include "api/routes.h"
#include "jobs/job_runner.h"
#include "http/json_body.h"
#include "util/ids.h"
#include "util/iso8601.h"
#include "util/json_text.h"
#include "util/time.h"

namespace daisy::api {
namespace {

using http::Request;
using http::Response;
namespace json = boost::json;

constexpr auto future_skew = std::chrono::minutes(5);
constexpr std::size_t max_idempotency_key = 255;
constexpr std::size_t max_metadata_bytes = 16 * 1024;

json::array checks_json(const std::vector<RuleOutcome>& outcomes) {
  json::array checks;
  for (const auto& o : outcomes) {
    json::object c{{"rule", o.rule}, {"passed", o.passed}};
    if (!o.passed) c["message"] = o.message;
    checks.push_back(std::move(c));
  }
  return checks;
}

struct Checked {
  std::string status;  // accepted | flagged
  json::array checks;
};

// Answers against questions, then rules. A refusal (422) or the outcome.
std::variant<Checked, Response> check_response(const CompiledForm& form, const json::object& answers) {
  auto errors = check_answers(form.form.definition, answers);
  if (!errors.empty()) return http::validation_problem(std::move(errors), "The answers do not fit the form.");
  auto outcomes = form.rules->evaluate(answers);
  std::vector<FieldError> rejections;
  bool flagged = false;
  for (const auto& o : outcomes) {
    if (o.passed) continue;
    if (o.reject) {
      rejections.push_back({"rules." + o.rule, o.message});
    } else {
      flagged = true;
    }
  }
  if (!rejections.empty()) {
    std::string detail = rejections.front().message;
    return http::problem(422, "rule-rejected", detail, rejections);
  }
  return Checked{flagged ? "flagged" : "accepted", checks_json(outcomes)};
}

std::variant<std::shared_ptr<const CompiledForm>, Response> active_form(ApiContext& ctx, const std::string& id) {
  auto form = ctx.forms->get(id);
  if (!form.is_ok()) return store_failure(form.status(), "form " + id);
  if (form.value()->form.archived()) {
    return http::problem(409, "form-archived", "The form is archived and takes no more responses.");
  }
  return form.value();
}

// Checks answers against the form's current version; the row to store
// (form, version, status, answers, checks set) or the refusal.
std::variant<std::shared_ptr<ResponseRow>, Response> checked_row(ApiContext& ctx, const std::string& form_id,
                                                                 const json::object& answers) {
  auto loaded = active_form(ctx, form_id);
  if (auto* refusal = std::get_if<Response>(&loaded)) return std::move(*refusal);
  const auto& form = *std::get<std::shared_ptr<const CompiledForm>>(loaded);
  auto checked = check_response(form, answers);
  if (auto* refusal = std::get_if<Response>(&checked)) return std::move(*refusal);
  auto& outcome = std::get<Checked>(checked);
  auto row = std::make_shared<ResponseRow>();
  row->form_id = form_id;
  row->form_version = form.form.version;
  row->status = outcome.status;
  row->answers = to_json_text(answers);
  row->checks = to_json_text(outcome.checks);
  return row;
}

bool valid_idempotency_key(std::string_view key) {
  if (key.empty() || key.size() > max_idempotency_key) return false;
  for (unsigned char c : key) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

Response idempotency_key_reused() {
  return http::problem(422, "idempotency-key-reused",
                       "This Idempotency-Key was already used on this form with a different body or by another caller.",
                       {{"Idempotency-Key", "was already used with a different body or by another caller"}});
}

// The reply to a repeated submission: the stored response and the actions
// its first submission triggered, as they are now.
Response replayed(ApiContext& ctx, const std::string& form_id, const ResponseRow& row) {
  std::vector<jobs::TriggeredAction> actions;
  auto jobs = ctx.store.jobs_of_source(row.id);
  if (!jobs.is_ok()) return store_failure(jobs.status(), "response");
  for (const JobRow& job : jobs.value()) {
    if (job.type == trigger_response_created) actions.push_back({job.integration_id, job.id, "async", job.status});
  }
  std::string body = response_json(row);
  append_actions(body, actions);
  Response r(201, std::move(body));
  r.headers.emplace_back("Location", "/v1/forms/" + form_id + "/responses/" + row.id);
  r.headers.emplace_back("Idempotent-Replayed", "true");
  return r;
}

// The "answers" object of a submission or correction, or null with an error.
const json::object* read_answers(const json::object& body, std::vector<FieldError>& errors) {
  auto it = body.find("answers");
  if (it == body.end() || !it->value().is_object()) {
    errors.push_back({"answers", "is required and must be an object"});
    return nullptr;
  }
  return &it->value().get_object();
}

boost::asio::awaitable<Response> submit(ApiContext& ctx, Request& req) {
  std::string form_id = req.param(0);
  auto body = http::parse_body_object(req);
  if (auto* refusal = std::get_if<Response>(&body)) co_return std::move(*refusal);
  const json::object& o = std::get<json::object>(body);

  std::vector<FieldError> errors;
  const json::object* answers = read_answers(o, errors);
  std::string metadata = "{}";
  if (auto it = o.find("metadata"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_object()) {
      errors.push_back({"metadata", "must be an object"});
    } else {
      metadata = to_json_text(it->value());
      if (metadata.size() > max_metadata_bytes) errors.push_back({"metadata", "must be at most 16 KiB"});
    }
  }
  std::string received_at = now_utc();
  std::string submitted_at = received_at;
  if (auto it = o.find("submitted_at"); it != o.end() && !it->value().is_null()) {
    std::optional<std::int64_t> ns;
    if (it->value().is_string()) ns = parse_timestamp_ns(it->value().get_string());
    if (!ns) {
      errors.push_back({"submitted_at", "must be an ISO 8601 date and time"});
    } else {
      Clock::time_point t{std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(*ns))};
      if (t > Clock::now() + future_skew) {
        errors.push_back({"submitted_at", "is in the future"});
      } else {
        submitted_at = format_utc(t);
      }
    }
  }
  for (const auto& field : o) {
    std::string_view k = field.key();
    if (k != "answers" && k != "metadata" && k != "submitted_at") {
      errors.push_back({std::string(k), "is not a field of a submission"});
    }
  }
  std::string key(req.header("Idempotency-Key"));
  if (!key.empty() && !valid_idempotency_key(key)) {
    errors.push_back({"Idempotency-Key", "must be 1 to 255 visible ASCII characters"});
  }
  if (!errors.empty()) co_return http::validation_problem(std::move(errors));

  // A retry is answered from what was stored, before any check: the form may
  // have changed or been archived since, and the client only lost the reply.
  // The hash covers the caller too, so another app's key never returns this one's data.
  std::string hash;
  if (!key.empty()) {
    std::string caller = req.principal.is_app() ? "app:" + req.principal.app_id : std::string("admin");
    Sha256 digest = sha256(caller + "\n" + std::string(req.body));
    hash = to_hex(bytes_of(digest));
    auto earlier = ctx.store.find_by_idempotency_key(form_id, key);
    if (!earlier.is_ok()) co_return store_failure(earlier.status(), "response");
    if (earlier.value()) {
      if (earlier.value()->second != hash) co_return idempotency_key_reused();
      co_return replayed(ctx, form_id, earlier.value()->first);
    }
  }

  auto checked = checked_row(ctx, form_id, *answers);
  if (auto* refusal = std::get_if<Response>(&checked)) co_return std::move(*refusal);
  auto row = std::get<std::shared_ptr<ResponseRow>>(checked);
  row->id = new_uuid_v7();
  row->metadata = std::move(metadata);
  row->submitted_at = submitted_at;
  row->received_at = received_at;
  row->updated_at = received_at;
  row->revision = 1;
  if (req.principal.is_app()) row->app_id = req.principal.app_id;

  std::vector<JobRow> jobs;
  std::vector<jobs::TriggeredAction> actions;
  std::string reply = response_json(*row);
  if (ctx.integrations) {
    // The jobs send revision 1, which the store keeps: no copy of the reply.
    ctx.integrations->add_jobs(form_id, trigger_response_created, row->id, {.revision = 1}, jobs, &actions);
  }
  auto stored = co_await ctx.store.insert_response(row, key, hash, std::move(jobs));
  if (!stored.is_ok()) co_return store_failure(stored.status(), "response");
  if (stored.value() == SubmitOutcome::key_mismatch) co_return idempotency_key_reused();
  if (stored.value() == SubmitOutcome::replayed) co_return replayed(ctx, form_id, *row);
  if (!actions.empty() && ctx.job_runner) ctx.job_runner->wake();
  if (ctx.integrations && ctx.job_runner) {
    auto sync = ctx.integrations->sync_for(form_id, trigger_response_created);
    if (!sync.empty()) {
      auto answered = co_await ctx.job_runner->call_sync(std::move(sync), std::string(trigger_response_created), row->id, reply);
      actions.insert(actions.end(), answered.begin(), answered.end());
    }
  }
  append_actions(reply, actions);
  Response r(201, std::move(reply));
  r.headers.emplace_back("Location", "/v1/forms/" + form_id + "/responses/" + row->id);
  co_return r;
}

Response get_response(ApiContext& ctx, Request& req) {
  auto row = ctx.store.get_response(req.param(0), req.param(1));
  if (!row.is_ok()) return store_failure(row.status(), "response " + req.param(1));
  return Response(200, response_json(row.value()));
}

// ISO 8601 query bound -> the stored text form (comparable as text).
bool read_time_bound(const Request& req, std::string_view name, std::string& out, std::vector<FieldError>& errors) {
  auto v = req.query_param(name);
  if (!v) return true;
  auto ns = parse_timestamp_ns(*v);
  if (!ns) {
    errors.push_back({std::string(name), "must be an ISO 8601 date and time"});
    return false;
  }
  out = format_utc(Clock::time_point{std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(*ns))});
  return true;
}

Response list_responses(ApiContext& ctx, Request& req) {
  std::string form_id = req.param(0);
  auto form = ctx.forms->get(form_id);
  if (!form.is_ok()) return store_failure(form.status(), "form " + form_id);
  auto page = page_from_query(req);
  if (auto* refusal = std::get_if<Response>(&page)) return std::move(*refusal);
  const Page& p = std::get<Page>(page);
  ResponseFilter filter;
  filter.limit = p.limit;
  std::vector<FieldError> errors;
  if (auto after = seq_cursor(p)) {
    filter.after_seq = *after;
  } else {
    errors.push_back({"after", "must be a cursor returned as next_cursor"});
  }
  if (auto status = req.query_param("status")) {
    if (*status != "accepted" && *status != "flagged") {
      errors.push_back({"status", "must be accepted or flagged"});
    }
    filter.status = *status;
  }
  read_time_bound(req, "since", filter.since, errors);
  read_time_bound(req, "until", filter.until, errors);
  if (!errors.empty()) return http::validation_problem(std::move(errors), "Invalid query parameter.");

  auto rows = ctx.store.list_responses(form_id, filter);
  if (!rows.is_ok()) return store_failure(rows.status(), "responses");
  std::string body = "{\"items\":[";
  for (std::size_t i = 0; i < rows.value().size(); ++i) {
    if (i) body += ',';
    body += response_json(rows.value()[i]);
  }
  body += "],\"next_cursor\":";
  if (rows.value().size() == filter.limit && !rows.value().empty()) {
    body += "\"" + std::to_string(rows.value().back().seq) + "\"";
  } else {
    body += "null";
  }
  body += "}";
  return Response(200, std::move(body));
}

boost::asio::awaitable<Response> correct(ApiContext& ctx, Request& req) {
  std::string form_id = req.param(0);
  std::string response_id = req.param(1);
  auto body = http::parse_body_object(req);
  if (auto* refusal = std::get_if<Response>(&body)) co_return std::move(*refusal);
  const json::object& o = std::get<json::object>(body);
  std::vector<FieldError> errors;
  const json::object* answers = read_answers(o, errors);
  for (const auto& field : o) {
    if (field.key() != "answers") errors.push_back({std::string(field.key()), "is not a field of a correction"});
  }
  if (!errors.empty()) co_return http::validation_problem(std::move(errors));

  auto existing = ctx.store.get_response(form_id, response_id);
  if (!existing.is_ok()) co_return store_failure(existing.status(), "response " + response_id);
  if (req.principal.is_app() && existing.value().app_id != req.principal.app_id) {
    co_return http::not_found("response " + response_id);  // another app's data does not exist for it
  }
  auto checked = checked_row(ctx, form_id, *answers);
  if (auto* refusal = std::get_if<Response>(&checked)) co_return std::move(*refusal);
  auto row = std::get<std::shared_ptr<ResponseRow>>(checked);
  row->id = response_id;
  row->updated_at = now_utc();
  std::vector<JobRow> jobs;
  std::vector<jobs::TriggeredAction> actions;
  if (ctx.integrations) {
    // The jobs send the revision this correction makes (the store sets its
    // number).
    ctx.integrations->add_jobs(form_id, trigger_response_updated, response_id, {.revision = existing.value().revision + 1},
                               jobs, &actions);
  }
  Status status = co_await ctx.store.revise_response(row, std::move(jobs));
  if (!status.is_ok()) co_return store_failure(status, "response " + response_id);
  if (!actions.empty() && ctx.job_runner) ctx.job_runner->wake();
  std::string reply = response_json(*row);
  if (ctx.integrations && ctx.job_runner) {
    auto sync = ctx.integrations->sync_for(form_id, trigger_response_updated);
    if (!sync.empty()) {
      auto answered = co_await ctx.job_runner->call_sync(std::move(sync), std::string(trigger_response_updated), response_id, reply);
      actions.insert(actions.end(), answered.begin(), answered.end());
    }
  }
  append_actions(reply, actions);
  co_return Response(200, std::move(reply));
}

Response list_revisions(ApiContext& ctx, Request& req) {
  auto existing = ctx.store.get_response(req.param(0), req.param(1));
  if (!existing.is_ok()) return store_failure(existing.status(), "response " + req.param(1));
  auto revisions = ctx.store.list_revisions(req.param(1));
  if (!revisions.is_ok()) return store_failure(revisions.status(), "revisions");
  std::string body = "{\"response_id\":\"" + req.param(1) + "\",\"items\":[";
  bool first = true;
  for (const auto& r : revisions.value()) {
    if (!first) body += ',';
    first = false;
    body += "{\"revision\":" + std::to_string(r.revision) + ",\"form_version\":" + std::to_string(r.form_version) +
            ",\"status\":\"" + r.status + "\",\"answers\":" + r.answers + ",\"checks\":" + r.checks +
            ",\"created_at\":\"" + r.created_at + "\"}";
  }
  body += "]}";
  return Response(200, std::move(body));
}

// Streams every response of the form, a page of rows per call of the stream,
// reading with a fresh query each time (constant memory whatever the count).
Response export_responses(ApiContext& ctx, Request& req) {
  std::string form_id = req.param(0);
  auto form = ctx.forms->get(form_id);
  if (!form.is_ok()) return store_failure(form.status(), "form " + form_id);
  std::string format = req.query_param("format").value_or("csv");
  if (format != "csv" && format != "ndjson") {
    return http::validation_problem({{"format", "must be csv or ndjson"}}, "Invalid query parameter.");
  }
  std::string formulas_param = req.query_param("formulas").value_or("escape");
  if (formulas_param != "escape" && formulas_param != "keep") {
    return http::validation_problem({{"formulas", "must be escape or keep"}}, "Invalid query parameter.");
  }
  CsvFormulas formulas = formulas_param == "keep" ? CsvFormulas::keep : CsvFormulas::escape;
  struct ExportState {
    std::vector<Question> questions;
    simdjson::dom::parser parser;
    std::int64_t after_seq = 0;
    bool header_done = false;
    std::size_t rows_per_call = 1000;  // fewer when rows are large: a part stays near part_bytes
  };
  auto state = std::make_shared<ExportState>();
  state->questions = form.value()->form.definition.questions;
  bool csv = format == "csv";
  Store* store = &ctx.store;

  Response r;
  r.status = 200;
  r.content_type = csv ? "text/csv; charset=utf-8" : "application/x-ndjson";
  r.headers.emplace_back("Content-Disposition",
                         "attachment; filename=\"responses-" + form_id + (csv ? ".csv\"" : ".ndjson\""));
  r.stream = [store, form_id, state, csv, formulas](std::string& out) {
    constexpr std::size_t part_bytes = 1024 * 1024;
    if (csv && !state->header_done) append_csv_header(out, state->questions);
    state->header_done = true;
    ResponseFilter filter;
    filter.after_seq = state->after_seq;
    const std::size_t rows_per_call = state->rows_per_call;
    filter.limit = rows_per_call;
    auto rows = store->list_responses(form_id, filter);
    if (!rows.is_ok()) throw std::runtime_error("export read failed: " + rows.status().message());
    for (const auto& row : rows.value()) {
      if (csv) {
        append_csv_row(out, row, state->questions, state->parser, formulas);
      } else {
        out += response_json(row);
        out += '\n';
      }
    }
    if (!rows.value().empty()) state->after_seq = rows.value().back().seq;
    if (out.size() > part_bytes) state->rows_per_call = std::max<std::size_t>(1, rows_per_call * part_bytes / out.size());
    return rows.value().size() == rows_per_call;
  };
  return r;
}

}  // namespace

void register_response_routes(http::Router& router, ApiContext& ctx) {
  using http::Access;
  using http::AsyncHandler;
  using http::Method;
  using http::SyncHandler;
  http::RouteOptions json_body;
  json_body.content_types = {"application/json"};

  router.add(Method::post, "/v1/forms/{id}/responses", Access::app_or_admin,
             AsyncHandler([&ctx](Request& req) { return submit(ctx, req); }), json_body);
  router.add(Method::get, "/v1/forms/{id}/responses", Access::admin,
             SyncHandler([&ctx](Request& req) { return list_responses(ctx, req); }));
  // Before /{rid}, which would also match "export".
  router.add(Method::get, "/v1/forms/{id}/responses/export", Access::admin,
             SyncHandler([&ctx](Request& req) { return export_responses(ctx, req); }));
  router.add(Method::get, "/v1/forms/{id}/responses/{rid}", Access::admin,
             SyncHandler([&ctx](Request& req) { return get_response(ctx, req); }));
  router.add(Method::put, "/v1/forms/{id}/responses/{rid}", Access::app_or_admin,
             AsyncHandler([&ctx](Request& req) { return correct(ctx, req); }), json_body);
  router.add(Method::get, "/v1/forms/{id}/responses/{rid}/revisions", Access::admin,
             SyncHandler([&ctx](Request& req) { return list_revisions(ctx, req); }));
}

}  // namespace daisy::api
