// /v1/forms/{id}/responses: submission (admin or app token), corrections,
// reading (admin). Every response is checked against its form's questions and
// rules before it is stored; the reply is sent only after the commit.
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>

#include "api/publishable_key_limits.h"
#include "api/replies.h"
#include "api/routes.h"
#include "forms/form_cache.h"
#include "forms/response_reads.h"
#include "forms/responses.h"
#include "http/json_body.h"
#include "store/record_json.h"
#include "util/ids.h"
#include "util/iso8601.h"
#include "util/json_text.h"
#include "util/time.h"

namespace daisy::api {
namespace {

using http::Request;
using http::Response;
namespace json = boost::json;

Response idempotency_key_reused() {
  return http::problem(422, "idempotency-key-reused",
                       "This Idempotency-Key was already used on this form with a different body or by another caller.",
                       {{"Idempotency-Key", "was already used with a different body or by another caller"}});
}

forms::ResponseServices services(ApiContext& ctx) {
  return {ctx.store, ctx.store, *ctx.forms, ctx.integrations, ctx.job_runner, ctx.live};
}

Response refusal_reply(forms::Refusal refusal) {
  using Kind = forms::Refusal::Kind;
  switch (refusal.kind) {
    case Kind::answers_invalid:
      return http::validation_problem(std::move(refusal.errors), "The answers do not fit the form.");
    case Kind::rule_rejected:
      return http::problem(422, "rule-rejected", refusal.detail, refusal.errors);
    case Kind::form_archived:
      return http::problem(409, "form-archived", "The form is archived and takes no more responses.");
    case Kind::key_reused:
      return idempotency_key_reused();
    case Kind::store_failed:
      break;
  }
  return store_failure(refusal.status, refusal.detail);
}

// The reply to a stored response: its JSON and its actions (status: 201 for
// a submission, 200 for a correction); a refusal's problem otherwise.
Response outcome_reply(forms::Outcome outcome, int status) {
  if (auto* refusal = std::get_if<forms::Refusal>(&outcome)) return refusal_reply(std::move(*refusal));
  auto& stored = std::get<forms::Stored>(outcome);
  append_actions(stored.json, stored.actions);
  Response r(status, std::move(stored.json));
  if (status == 201) {
    r.headers.emplace_back("Location", "/v1/forms/" + stored.row->form_id + "/responses/" + stored.row->id);
  }
  if (stored.replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
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
  if (auto refusal = refuse_unlisted_form(req.principal, is_uuid(form_id) ? lower_case_uuid(form_id) : form_id)) {
    co_return std::move(*refusal);
  }
  if (auto refusal = refuse_over_rate(ctx, req.principal, 1)) co_return std::move(*refusal);
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
      if (metadata.size() > forms::max_metadata_bytes) errors.push_back({"metadata", "must be at most 16 KiB"});
    }
  }
  std::string submitted_at;  // empty: when received
  if (auto it = o.find("submitted_at"); it != o.end() && !it->value().is_null()) {
    std::optional<std::int64_t> ns;
    if (it->value().is_string()) ns = parse_timestamp_ns(it->value().get_string());
    if (!ns) {
      errors.push_back({"submitted_at", "must be an ISO 8601 date and time"});
    } else {
      Clock::time_point t{std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(*ns))};
      if (t > Clock::now() + forms::submitted_at_max_skew) {
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
  if (!key.empty() && !forms::valid_idempotency_key(key)) {
    errors.push_back({"Idempotency-Key", "must be 1 to 255 visible ASCII characters"});
  }
  if (!errors.empty()) co_return http::validation_problem(std::move(errors));

  forms::Submission submission{.form_id = form_id,
                               .answers = answers,
                               .metadata = std::move(metadata),
                               .submitted_at = std::move(submitted_at),
                               .idempotency_key = std::move(key),
                               .request_bytes = req.body,
                               .caller = req.principal};
  co_return outcome_reply(co_await forms::submit(services(ctx), std::move(submission)), 201);
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
  const std::string& form_id = req.param(0);
  if (auto form = ctx.forms->get(form_id); !form.is_ok()) return store_failure(form.status(), "form " + form_id);
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
  auto listed = forms::list_responses(ctx.store, *ctx.forms, form_id, filter);
  if (!listed.is_ok()) {
    return store_failure(listed.status(),
                         listed.status().code() == Status::Code::not_found ? "form " + form_id : "responses");
  }
  const forms::ResponsePage& result = listed.value();
  std::string body = "{\"items\":[";
  for (std::size_t i = 0; i < result.rows.size(); ++i) {
    if (i) body += ',';
    body += response_json(result.rows[i]);
  }
  body += "],\"next_cursor\":";
  body += result.next_after_seq ? "\"" + std::to_string(*result.next_after_seq) + "\"" : std::string("null");
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

  forms::Correction correction{form_id, response_id, answers, req.principal};
  co_return outcome_reply(co_await forms::correct(services(ctx), std::move(correction)), 200);
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

// Streams every response of the form (forms::ResponseExport), a part per call of the stream.
Response export_responses(ApiContext& ctx, Request& req) {
  const std::string& form_id = req.param(0);
  if (auto form = ctx.forms->get(form_id); !form.is_ok()) return store_failure(form.status(), "form " + form_id);
  std::string format = req.query_param("format").value_or("csv");
  forms::ExportFormat export_format;
  if (format == "csv") {
    export_format = forms::ExportFormat::csv;
  } else if (format == "ndjson") {
    export_format = forms::ExportFormat::ndjson;
  } else if (format == "xlsx") {
    export_format = forms::ExportFormat::xlsx;
  } else {
    return http::validation_problem({{"format", "must be csv, ndjson or xlsx"}}, "Invalid query parameter.");
  }
  std::string formulas = req.query_param("formulas").value_or("escape");
  if (formulas != "escape" && formulas != "keep") {
    return http::validation_problem({{"formulas", "must be escape or keep"}}, "Invalid query parameter.");
  }
  auto opened = forms::ResponseExport::open(ctx.store, *ctx.forms, form_id, export_format,
                                            formulas == "keep" ? forms::CsvFormulas::keep : forms::CsvFormulas::escape);
  if (!opened.is_ok() && export_format == forms::ExportFormat::xlsx &&
      opened.status().code() == Status::Code::unavailable) {
    Response r = http::problem(503, "export-unavailable",
                               "The workbook cannot be built now (" + opened.status().message() +
                                   "); the server's temporary directory (TMPDIR) must be writable.");
    r.headers.emplace_back("Retry-After", "60");
    return r;
  }
  if (!opened.is_ok()) return store_failure(opened.status(), "form " + form_id);

  Response r;
  r.status = 200;
  switch (export_format) {
    case forms::ExportFormat::csv:
      r.content_type = "text/csv; charset=utf-8";
      break;
    case forms::ExportFormat::ndjson:
      r.content_type = "application/x-ndjson";
      break;
    case forms::ExportFormat::xlsx:
      r.content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
      break;
  }
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"responses-" + form_id + "." + format + "\"");
  r.stream = [exported = std::move(opened.value())](std::string& out) { return exported->write_part(out); };
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
  http::RouteOptions from_pages = json_body;
  from_pages.publishable = true;

  router.add(Method::post, "/v1/forms/{id}/responses", Access::app_or_admin,
             AsyncHandler([&ctx](Request& req) { return submit(ctx, req); }), from_pages);
  router.add(Method::get, "/v1/forms/{id}/responses", Access::admin,
             SyncHandler([&ctx](Request& req) { return list_responses(ctx, req); }), http::heavy_read());
  // Before /{rid}, which would also match "export".
  router.add(Method::get, "/v1/forms/{id}/responses/export", Access::admin,
             SyncHandler([&ctx](Request& req) { return export_responses(ctx, req); }), http::heavy_read());
  router.add(Method::get, "/v1/forms/{id}/responses/{rid}", Access::admin,
             SyncHandler([&ctx](Request& req) { return get_response(ctx, req); }));
  router.add(Method::put, "/v1/forms/{id}/responses/{rid}", Access::app_or_admin,
             AsyncHandler([&ctx](Request& req) { return correct(ctx, req); }), json_body);
  router.add(Method::get, "/v1/forms/{id}/responses/{rid}/revisions", Access::admin,
             SyncHandler([&ctx](Request& req) { return list_revisions(ctx, req); }));
}

}  // namespace daisy::api
