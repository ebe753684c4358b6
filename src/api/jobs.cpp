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
#include "jobs/job_reads.h"
#include "jobs/job_runner.h"
#include "store/record_json.h"
#include "util/ids.h"
#include "util/time.h"

namespace daisy::api {
namespace {

using http::Request;
using http::Response;
namespace json = boost::json;

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
    if (!jobs::is_job_status(*status)) errors.push_back({"status", std::string(jobs::job_status_error)});
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

boost::asio::awaitable<Response> list_jobs(ApiContext& ctx, Request& req) {
  auto query = job_query(ctx, req);
  if (auto* refusal = std::get_if<Response>(&query)) co_return std::move(*refusal);
  const JobQuery& q = std::get<JobQuery>(query);
  http::ReaderPool::Outcome refused = http::ReaderPool::Outcome::ran;
  auto rows = co_await jobs::list_filed_jobs(ctx.store, q.filter, runner_on(ctx.readers, &refused));
  if (refused != http::ReaderPool::Outcome::ran) co_return http::readers_busy_reply(refused);
  if (!rows.is_ok()) co_return store_failure(rows.status(), "jobs");
  json::array items;
  for (const auto& j : rows.value()) items.push_back(jobs::job_json(ctx.store, j));
  std::string last = rows.value().empty() ? std::string() : rows.value().back().id;
  co_return json_reply(200, page_body(std::move(items), q.page, std::move(last)));
}

boost::asio::awaitable<Response> get_job(ApiContext& ctx, Request& req) {
  const std::string& id = req.param(0);
  auto job = co_await jobs::get_filed_job(ctx.store, id);
  if (!job.is_ok()) co_return store_failure(job.status(), "job " + id);
  auto body = jobs::job_detail_json(ctx.store, ctx.store, job.value());
  if (!body.is_ok()) co_return store_failure(body.status(), "job " + id);
  co_return json_reply(200, body.value());
}

boost::asio::awaitable<Response> retry_job(ApiContext& ctx, Request& req) {
  const std::string& id = req.param(0);
  auto job = co_await ctx.store.retry_job(id, now_ms());
  if (!job.is_ok()) co_return store_failure(job.status(), "job " + id);
  if (ctx.job_runner) ctx.job_runner->wake();
  co_return json_reply(200, jobs::job_json(ctx.store, job.value()));
}

boost::asio::awaitable<Response> cancel_job(ApiContext& ctx, Request& req) {
  const std::string& id = req.param(0);
  auto job = co_await ctx.store.cancel_job(id);
  if (!job.is_ok()) co_return store_failure(job.status(), "job " + id);
  co_return json_reply(200, jobs::job_json(ctx.store, job.value()));
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
  co_return json_reply(200, jobs::job_json(ctx.store, std::get<JobRow>(recorded)));
}

}  // namespace

void register_job_routes(http::Router& router, ApiContext& ctx) {
  using http::Access;
  using http::Method;
  router.add(Method::get, "/v1/jobs", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return list_jobs(ctx, req); }));
  router.add(Method::get, "/v1/jobs/{id}", Access::admin,
             http::AsyncHandler([&ctx](Request& req) { return get_job(ctx, req); }));
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
