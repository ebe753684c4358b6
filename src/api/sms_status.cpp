// POST /v1/integrations/{id}/sms-status?job={job}: Twilio's status callback
// for a message an sms integration sent. No bearer token (Twilio cannot send
// one): the request is authenticated by X-Twilio-Signature, checked against
// the callback URL Daisy gave Twilio (jobs/kinds/sms_status.h).
#include <string>
#include <utility>

#include "api/replies.h"
#include "api/routes.h"
#include "http/dispatcher.h"
#include "http/problem.h"
#include "jobs/job_runner.h"
#include "jobs/kinds/sms_status.h"

namespace daisy::api {
namespace {

using http::Request;
using http::Response;

jobs::FormParams form_params(std::string_view body) {
  jobs::FormParams params;
  while (!body.empty()) {
    std::size_t amp = body.find('&');
    std::string_view part = body.substr(0, amp);
    body.remove_prefix(amp == std::string_view::npos ? body.size() : amp + 1);
    if (part.empty()) continue;
    std::size_t eq = part.find('=');
    std::string name = http::percent_decode(part.substr(0, eq), true);
    std::string value = eq == std::string_view::npos ? std::string() : http::percent_decode(part.substr(eq + 1), true);
    params.emplace_back(std::move(name), std::move(value));
  }
  return params;
}

Response answer_reply(const jobs::SmsStatusAnswer& answer) {
  using Kind = jobs::SmsStatusAnswer::Kind;
  switch (answer.kind) {
    case Kind::taken:
      return Response(204, std::string(), "");
    case Kind::forbidden:
      return http::problem(403, "forbidden", answer.detail);
    case Kind::not_found:
      return http::not_found(answer.detail);
    case Kind::conflict:
      return http::problem(409, "conflict", answer.detail);
    case Kind::bad_request:
      return http::problem(400, "bad-request", answer.detail);
    case Kind::store_failed:
      break;
  }
  return store_failure(answer.status, "the job");
}

boost::asio::awaitable<Response> sms_status(ApiContext& ctx, Request& req) {
  if (!ctx.integrations || !ctx.job_runner) co_return http::problem(503, "unavailable", "No job runner here.");
  jobs::SmsStatusReport report;
  report.integration_id = req.param(0);
  report.job_id = req.query_param("job").value_or("");
  // The URL Twilio was given (and signed), not what the Host header says.
  report.url = ctx.job_runner->callback_base() + std::string(req.path);
  if (!req.query.empty()) report.url += "?" + std::string(req.query);
  report.signature = std::string(req.header("X-Twilio-Signature"));
  report.params = form_params(req.body);
  auto answer = co_await jobs::record_sms_status(ctx.store, *ctx.integrations, std::move(report));
  co_return answer_reply(answer);
}

}  // namespace

void register_sms_status_routes(http::Router& router, ApiContext& ctx) {
  http::RouteOptions form_body;
  form_body.content_types = {"application/x-www-form-urlencoded"};
  form_body.max_body = 64 * 1024;
  // Authenticated by Twilio's signature, checked by the handler.
  router.add(http::Method::post, "/v1/integrations/{id}/sms-status", http::Access::public_,
             http::AsyncHandler([&ctx](Request& req) { return sms_status(ctx, req); }), form_body);
}

}  // namespace daisy::api
