// /v1/jobs: the deliveries that integrations trigger, their attempts, and
// retrying or cancelling one by hand (admin only).
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <limits>
#include <variant>

#include "api/replies.h"
#include "api/routes.h"
#include "http/dispatcher.h"
#include "http/json_body.h"
#include "jobs/callbacks.h"
#include "jobs/job_runner.h"
#include "store/record_json.h"
#include "util/ids.h"
#include "util/time.h"

namespace daisy::api {
namespace {

using http::Request;
using http::Response;
namespace json = boost::json;

std::string ms_to_utc(std::int64_t ms) {
  return format_utc(Clock::time_point{std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(ms))});
}

json::object job_json(Store& store, const JobRow& j) {
  json::object o{{"id", j.id},
                 {"integration_id", j.integration_id},
                 {"source_id", j.source_id},
                 {"type", j.type},
                 {"status", j.status},
                 {"attempts", j.attempts}};
  bool waiting = j.status == "pending" || j.status == "failed";
  if (waiting) {
    o["next_attempt_at"] = ms_to_utc(j.due_ms);
  } else {
    o["next_attempt_at"] = nullptr;
  }
  if (j.last_error.empty()) {
    o["last_error"] = nullptr;
  } else {
    o["last_error"] = j.last_error;
  }
  json::error_code ec;
  auto payload = job_payload(store, j);
  json::value data = payload.is_ok() ? json::parse(payload.value(), ec) : json::value(nullptr);
  o["data"] = ec ? json::value(nullptr) : std::move(data);
  json::value output = j.output.empty() ? json::value(nullptr) : json::parse(j.output, ec);
  o["output"] = ec ? json::value(nullptr) : std::move(output);
  o["created_at"] = j.created_at;
  o["updated_at"] = j.updated_at;
  return o;
}

json::object attempt_json(const JobAttemptRow& a) {
  json::object o{
      {"number", a.number}, {"started_at", a.started_at}, {"duration_ms", a.duration_ms}, {"outcome", a.outcome}};
  if (a.http_status) {
    o["http_status"] = a.http_status;
  } else {
    o["http_status"] = nullptr;
  }
  if (a.error.empty()) {
    o["error"] = nullptr;
  } else {
    o["error"] = a.error;
  }
  if (!a.log.empty()) {
    json::array lines;
    std::string_view rest = a.log;
    for (std::size_t end; (end = rest.find('\n')) != std::string_view::npos; rest.remove_prefix(end + 1)) {
      lines.emplace_back(rest.substr(0, end));
    }
    o["log"] = std::move(lines);
  }
  return o;
}

constexpr std::string_view statuses[] = {"pending", "running", "awaiting_callback", "succeeded",
                                         "failed",  "dead",    "cancelled"};

struct JobQuery {
  JobFilter filter;
  Page page;
};

// The query of GET /v1/jobs, or the refusal of a bad one.
std::variant<Response, JobQuery> job_query(ApiContext& ctx, Request& req) {
  auto page = page_from_query(req);
  if (auto* refusal = std::get_if<Response>(&page)) return std::move(*refusal);
  JobQuery q{{}, std::get<Page>(page)};
  JobFilter& filter = q.filter;
  filter.limit = q.page.limit;
  std::vector<FieldError> errors;
  if (auto status = req.query_param("status")) {
    if (std::find(std::begin(statuses), std::end(statuses), *status) == std::end(statuses)) {
      errors.push_back(
          {"status", "must be one of pending, running, awaiting_callback, succeeded, failed, dead, cancelled"});
    }
    filter.status = *status;
  }
  if (auto id = req.query_param("integration_id")) filter.integration_id = *id;
  if (auto id = req.query_param("source_id")) filter.source_id = *id;
  if (!q.page.after.empty()) {
    // The cursor is the last job id of the previous page.
    auto last = ctx.store.get_job(q.page.after);
    if (last.is_ok()) {
      filter.after_seq = last.value().seq;
    } else if (last.status().code() == Status::Code::not_found) {
      errors.push_back({"after", "must be a job id returned as next_cursor"});
    } else {
      return store_failure(last.status(), "jobs");
    }
  }
  if (!errors.empty()) return http::validation_problem(std::move(errors), "Invalid query parameter.");
  return q;
}

// One page of the filed jobs; `full` tells whether it holds `limit` of them.
Response jobs_page(ApiContext& ctx, const JobQuery& q, bool& full) {
  auto rows = ctx.store.list_jobs(q.filter);
  if (!rows.is_ok()) return store_failure(rows.status(), "jobs");
  full = rows.value().size() >= q.filter.limit;
  json::array items;
  for (const auto& j : rows.value()) items.push_back(job_json(ctx.store, j));
  std::string last = rows.value().empty() ? std::string() : rows.value().back().id;
  return json_reply(200, page_body(std::move(items), q.page, std::move(last)));
}

// Commits may leave their jobs in the outbox (SQLite) until they are filed
// (JobStore::file_pending_jobs). A page that is not full is read again after
// filing the oldest waiting rows, a page's worth at first and eight times
// more each round: the listing sees every job acknowledged so far without
// first filing a backlog of a million. Jobs still in the outbox are pending,
// so a listing of any other status needs none filed.
boost::asio::awaitable<Response> list_jobs(ApiContext& ctx, Request& req) {
  auto query = job_query(ctx, req);
  if (auto* refusal = std::get_if<Response>(&query)) co_return std::move(*refusal);
  const JobQuery& q = std::get<JobQuery>(query);
  bool outbox_may_match = q.filter.status.empty() || q.filter.status == "pending";
  std::size_t slice = q.filter.limit;
  for (;;) {
    bool full = false;
    Response reply = co_await http::respond_on_readers(ctx.readers, [&] { return jobs_page(ctx, q, full); });
    if (full || reply.status != 200 || !outbox_may_match) co_return reply;
    auto filed = co_await ctx.store.file_pending_jobs(slice);
    if (!filed.is_ok()) co_return store_failure(filed.status(), "jobs");
    if (filed.value() == 0) co_return reply;
    slice = std::min<std::size_t>(slice * 8, std::size_t{1} << 20);
  }
}

// A job not filed yet is found once every job waiting has been filed.
boost::asio::awaitable<Response> after_filing(ApiContext& ctx, Request& req, Response (*read)(ApiContext&, Request&)) {
  auto filed = co_await ctx.store.file_pending_jobs(std::numeric_limits<std::size_t>::max());
  if (!filed.is_ok()) co_return store_failure(filed.status(), "jobs");
  co_return read(ctx, req);
}

Response get_job(ApiContext& ctx, Request& req);

// A job already filed is read at once: filing the outbox first (which can
// take seconds with a backlog of hundreds of thousands) is only for the rest.
boost::asio::awaitable<Response> get_job_filed(ApiContext& ctx, Request& req) {
  if (ctx.store.get_job(req.param(0)).is_ok()) co_return get_job(ctx, req);
  co_return co_await after_filing(ctx, req, get_job);
}

Response get_job(ApiContext& ctx, Request& req) {
  auto job = ctx.store.get_job(req.param(0));
  if (!job.is_ok()) return store_failure(job.status(), "job " + req.param(0));
  auto attempts = ctx.store.list_attempts(job.value().seq);
  if (!attempts.is_ok()) return store_failure(attempts.status(), "job " + req.param(0));
  json::object body = job_json(ctx.store, job.value());
  json::array list;
  for (const auto& a : attempts.value()) list.push_back(attempt_json(a));
  body["attempts_log"] = std::move(list);
  return json_reply(200, body);
}

boost::asio::awaitable<Response> retry_job(ApiContext& ctx, Request& req) {
  const std::string& id = req.param(0);
  auto job = co_await ctx.store.retry_job(id, now_ms());
  if (!job.is_ok()) co_return store_failure(job.status(), "job " + id);
  if (ctx.job_runner) ctx.job_runner->wake();
  co_return json_reply(200, job_json(ctx.store, job.value()));
}

boost::asio::awaitable<Response> cancel_job(ApiContext& ctx, Request& req) {
  const std::string& id = req.param(0);
  auto job = co_await ctx.store.cancel_job(id);
  if (!job.is_ok()) co_return store_failure(job.status(), "job " + id);
  co_return json_reply(200, job_json(ctx.store, job.value()));
}

constexpr std::size_t max_callback_output = 64 * 1024;
constexpr std::size_t max_callback_error = 2000;

Response callback_refusal_reply(const jobs::CallbackRefusal& refusal, const std::string& id) {
  using Kind = jobs::CallbackRefusal::Kind;
  switch (refusal.kind) {
    case Kind::not_found:
      return http::not_found("job " + id);
    case Kind::not_waiting:
      return http::problem(409, "conflict", "The job is " + refusal.detail + ": it is not waiting for a callback.");
    case Kind::wrong_token:
      return http::unauthorized("The callback token is not this job's.", true);
    case Kind::moved_on:
      return http::problem(409, "conflict", "The job is no longer waiting for this callback.");
    case Kind::store_failed:
      break;
  }
  return store_failure(refusal.status, "job " + id);
}

// POST /v1/jobs/{id}/callback: the microservice that took a redis job reports
// its end, with the job's own callback token (given in the published message).
boost::asio::awaitable<Response> job_callback(ApiContext& ctx, Request& req) {
  const std::string& id = req.param(0);
  std::string_view authorization = req.header("Authorization");
  constexpr std::string_view scheme = "Bearer ";
  if (authorization.substr(0, scheme.size()) != scheme || authorization.size() == scheme.size()) {
    co_return http::unauthorized("A callback needs the job's callback token: Authorization: Bearer <token>.", true);
  }
  auto parsed = http::parse_body_object(req);
  if (auto* refusal = std::get_if<Response>(&parsed)) co_return std::move(*refusal);
  const json::object& body = std::get<json::object>(parsed);
  std::vector<FieldError> errors;
  std::string status;
  if (const json::value* v = body.if_contains("status"); v && v->is_string()) status = std::string(v->as_string());
  if (status != "succeeded" && status != "failed") errors.push_back({"status", "must be succeeded or failed"});
  std::string output;
  if (const json::value* v = body.if_contains("output")) {
    output = json::serialize(*v);
    if (output.size() > max_callback_output) errors.push_back({"output", "must be at most 64 KiB of JSON"});
  }
  std::string error;
  if (const json::value* v = body.if_contains("error")) {
    if (!v->is_string()) {
      errors.push_back({"error", "must be a string"});
    } else {
      error = std::string(v->as_string()).substr(0, max_callback_error);
    }
  }
  for (const auto& field : body) {
    if (field.key() != "status" && field.key() != "output" && field.key() != "error") {
      errors.push_back({std::string(field.key()), "is not a known field"});
    }
  }

  auto job = jobs::job_for_callback(ctx.store, id, authorization.substr(scheme.size()));
  if (auto* refusal = std::get_if<jobs::CallbackRefusal>(&job)) co_return callback_refusal_reply(*refusal, id);
  // The report is judged only for the job's own caller.
  if (!errors.empty()) co_return http::validation_problem(std::move(errors));
  jobs::CallbackReport report{status == "succeeded", std::move(output), std::move(error)};
  auto recorded =
      co_await jobs::record_callback(ctx.store, *ctx.integrations, std::move(std::get<JobRow>(job)), std::move(report));
  if (auto* refusal = std::get_if<jobs::CallbackRefusal>(&recorded)) co_return callback_refusal_reply(*refusal, id);
  if (std::get<JobRow>(recorded).status == "dead" && ctx.job_runner) ctx.job_runner->count_dead();
  co_return json_reply(200, job_json(ctx.store, std::get<JobRow>(recorded)));
}

}  // namespace

void register_job_routes(http::Router& router, ApiContext& ctx) {
  using http::Access;
  using http::Method;
  router.add(Method::get, "/v1/jobs", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return list_jobs(ctx, req); }));
  router.add(Method::get, "/v1/jobs/{id}", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return get_job_filed(ctx, req); }));
  router.add(Method::post, "/v1/jobs/{id}/retry", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return retry_job(ctx, req); }));
  router.add(Method::post, "/v1/jobs/{id}/cancel", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return cancel_job(ctx, req); }));
  // Authenticated by the job's own callback token, checked by the handler.
  http::RouteOptions json_body;
  json_body.content_types = {"application/json"};
  router.add(Method::post, "/v1/jobs/{id}/callback", Access::public_,
             http::AsyncHandler([&ctx](Request& req) { return job_callback(ctx, req); }), json_body);
}

}  // namespace daisy::api
