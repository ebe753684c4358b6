#include "rpc/daisy_service.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/json/serialize.hpp>

#include "forms/responses.h"
#include "jobs/job_reads.h"
#include "observability/log_value.h"
#include "rpc/call_auth.h"
#include "rpc/event_messages.h"
#include "rpc/proto_json.h"
#include "rpc/rpc_status.h"
#include "util/time.h"

namespace daisy::rpc {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace v1 = daisy::v1;

constexpr std::size_t default_page = 100, max_page = 1000;

const grpc::Status overloaded(grpc::StatusCode::RESOURCE_EXHAUSTED,
                              "Too many calls are in flight; retry shortly with backoff.");

// Runs `operation` on the service's executor and finishes the call with
// its status (INTERNAL, logged, if it throws; see abandoned() if the client
// gave up meanwhile).
void finish_after(grpc::CallbackServerContext* call, grpc::ServerUnaryReactor* reactor,
                  const asio::any_io_executor& executor, asio::awaitable<grpc::Status> operation) {
  asio::co_spawn(executor, std::move(operation), [call, reactor](std::exception_ptr error, grpc::Status status) {
    if (error) {
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        spdlog::error("msg=\"grpc call failed\" error={}", log_value(e.what()));
      } catch (...) {
        spdlog::error("msg=\"grpc call failed\" error=unknown");
      }
      status = grpc::Status(grpc::StatusCode::INTERNAL, "The call failed; the error has been logged.");
    }
    if (call->IsCancelled()) status = abandoned(*call);
    reactor->Finish(status);
  });
}

grpc::ServerUnaryReactor* finish_now(grpc::CallbackServerContext* call, const grpc::Status& status) {
  auto* reactor = call->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

// The request's bytes with map entries in a fixed order, so that the same
// submission sent again is recognised under its idempotency key.
std::string deterministic_bytes(const google::protobuf::Message& message) {
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream out(&stream);
  out.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&out);
  out.Trim();
  return bytes;
}

void fill_actions(const std::vector<jobs::TriggeredAction>& actions,
                  google::protobuf::RepeatedPtrField<v1::Action>& out) {
  for (const auto& a : actions) {
    v1::Action& action = *out.Add();
    action.set_integration_id(a.integration_id);
    action.set_job_id(a.job_id);
    action.set_mode(a.mode);
    action.set_status(a.status);
    action.set_error(a.error);
    if (!a.output.empty()) json_text_to_value(a.output, *action.mutable_output());
  }
}

// The text of a JSON field, or "" (null, absent, not a string).
std::string text_of(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::int64_t number_of(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v) return 0;
  if (auto n = v->if_int64()) return *n;
  if (auto n = v->if_uint64()) return static_cast<std::int64_t>(*n);
  return 0;
}

// A job as jobs::job_json (and job_detail_json) shows it, field by field.
void fill_job(const json::object& o, v1::Job& job) {
  job.set_id(text_of(o, "id"));
  job.set_integration_id(text_of(o, "integration_id"));
  job.set_source_id(text_of(o, "source_id"));
  job.set_type(text_of(o, "type"));
  job.set_status(text_of(o, "status"));
  job.set_attempts(static_cast<std::uint32_t>(number_of(o, "attempts")));
  job.set_next_attempt_at(text_of(o, "next_attempt_at"));
  job.set_last_error(text_of(o, "last_error"));
  if (const auto* data = o.if_contains("data")) json_to_value(*data, *job.mutable_data());
  if (const auto* output = o.if_contains("output")) json_to_value(*output, *job.mutable_output());
  job.set_created_at(text_of(o, "created_at"));
  job.set_updated_at(text_of(o, "updated_at"));
  const json::value* log = o.if_contains("attempts_log");
  if (!log || !log->is_array()) return;
  for (const auto& entry : log->get_array()) {
    if (!entry.is_object()) continue;
    const json::object& a = entry.get_object();
    v1::JobAttempt& attempt = *job.add_attempts_log();
    attempt.set_number(static_cast<std::uint32_t>(number_of(a, "number")));
    attempt.set_started_at(text_of(a, "started_at"));
    attempt.set_duration_ms(number_of(a, "duration_ms"));
    attempt.set_outcome(text_of(a, "outcome"));
    attempt.set_http_status(static_cast<std::int32_t>(number_of(a, "http_status")));
    attempt.set_error(text_of(a, "error"));
    if (const json::value* lines = a.if_contains("log"); lines && lines->is_array()) {
      for (const auto& line : lines->get_array()) {
        if (line.is_string()) attempt.add_log(std::string(line.get_string()));
      }
    }
  }
}

grpc::Status refusal_status(const forms::Refusal& refusal) {
  using Kind = forms::Refusal::Kind;
  switch (refusal.kind) {
    case Kind::answers_invalid:
      return invalid_argument("The answers do not fit the form.", refusal.errors);
    case Kind::rule_rejected:
      return invalid_argument(refusal.detail, refusal.errors);
    case Kind::form_archived:
      return {grpc::StatusCode::FAILED_PRECONDITION, "The form is archived and takes no more responses."};
    case Kind::key_reused:
      return {grpc::StatusCode::ALREADY_EXISTS,
              "This idempotency_key was already used on this form with a different request or by another caller."};
    case Kind::store_failed:
      break;
  }
  return store_failure(refusal.status, refusal.detail);
}

// The submission's fields as forms::submit takes them, checked as
// POST /v1/forms/{id}/responses checks its body.
asio::awaitable<grpc::Status> submit(RpcContext& ctx, const v1::SubmitRequest& request, v1::SubmitReply& reply,
                                     Principal caller) {
  std::vector<FieldError> errors;
  if (request.form_id().empty()) errors.push_back({"form_id", "is required"});
  json::object answers;
  std::string bad_path;
  if (!request.has_answers()) {
    errors.push_back({"answers", "is required and must be an object"});
  } else if (!struct_to_json(request.answers(), answers, "answers", bad_path)) {
    errors.push_back({bad_path, "must be a finite number"});
  }
  std::string metadata = "{}";
  if (request.has_metadata()) {
    json::object object;
    if (!struct_to_json(request.metadata(), object, "metadata", bad_path)) {
      errors.push_back({bad_path, "must be a finite number"});
    }
    metadata = json::serialize(object);
    if (metadata.size() > forms::max_metadata_bytes) errors.push_back({"metadata", "must be at most 16 KiB"});
  }
  std::string submitted_at;
  if (request.has_submitted_at()) {
    const auto& at = request.submitted_at();
    std::string text;
    if (!timestamp_text(at, text)) {
      errors.push_back({"submitted_at", "is out of range"});
    } else {
      std::chrono::nanoseconds ns(at.seconds() * 1'000'000'000 + at.nanos());
      Clock::time_point t{std::chrono::duration_cast<Clock::duration>(ns)};
      if (t > Clock::now() + forms::submitted_at_max_skew) {
        errors.push_back({"submitted_at", "is in the future"});
      } else {
        submitted_at = format_utc(t);
      }
    }
  }
  if (!request.idempotency_key().empty() && !forms::valid_idempotency_key(request.idempotency_key())) {
    errors.push_back({"idempotency_key", "must be 1 to 255 visible ASCII characters"});
  }
  if (!errors.empty()) co_return invalid_argument("The request is not valid.", errors);

  std::string bytes = request.idempotency_key().empty() ? std::string() : deterministic_bytes(request);
  forms::Submission submission{.form_id = request.form_id(),
                               .answers = &answers,
                               .metadata = std::move(metadata),
                               .submitted_at = std::move(submitted_at),
                               .idempotency_key = request.idempotency_key(),
                               .request_bytes = bytes,
                               .caller = std::move(caller)};
  forms::Outcome outcome = co_await forms::submit(
      {ctx.store, ctx.store, ctx.forms, ctx.integrations, ctx.job_runner, ctx.live}, std::move(submission));
  if (auto* refusal = std::get_if<forms::Refusal>(&outcome)) co_return refusal_status(*refusal);
  const auto& stored = std::get<forms::Stored>(outcome);
  if (!json_text_to_struct(stored.json, *reply.mutable_response())) {
    co_return grpc::Status(grpc::StatusCode::INTERNAL, "The stored response could not be sent.");
  }
  fill_actions(stored.actions, *reply.mutable_actions());
  reply.set_replayed(stored.replayed);
  co_return grpc::Status::OK;
}

asio::awaitable<grpc::Status> send_events(RpcContext& ctx, const v1::EventBatch& batch, v1::BatchReply& reply,
                                          const std::string& app_id) {
  BatchOutcome outcome = co_await ingest_batch(ctx, batch, app_id);
  if (!outcome.status.ok()) co_return outcome.status;
  const events::IngestResult& result = outcome.result;
  if (result.ids.empty()) {
    std::vector<FieldError> errors;
    for (const auto& [index, event_errors] : result.rejected) {
      for (const auto& e : event_errors) {
        std::string field = "events[" + std::to_string(index) + "]";
        if (!e.field.empty()) field += "." + e.field;
        errors.push_back({std::move(field), e.message});
      }
    }
    co_return invalid_argument("No event of the batch was accepted.", errors);
  }
  fill_outcome(result, reply);
  fill_actions(result.actions, *reply.mutable_actions());
  co_return grpc::Status::OK;
}

asio::awaitable<grpc::Status> get_job(RpcContext& ctx, const v1::GetJobRequest& request, v1::Job& reply) {
  if (request.id().empty()) co_return invalid_argument("The request is not valid.", {{"id", "is required"}});
  auto job = co_await jobs::get_filed_job(ctx.store, request.id());
  if (!job.is_ok()) co_return store_failure(job.status(), "job " + request.id());
  auto body = jobs::job_detail_json(ctx.store, ctx.store, job.value());
  if (!body.is_ok()) co_return store_failure(body.status(), "job " + request.id());
  fill_job(body.value(), reply);
  co_return grpc::Status::OK;
}

asio::awaitable<grpc::Status> list_jobs(RpcContext& ctx, const v1::ListJobsRequest& request, v1::JobPage& reply) {
  JobFilter filter{
      .status = request.status(), .integration_id = request.integration_id(), .source_id = request.source_id()};
  filter.limit = request.limit() == 0 ? default_page : request.limit();
  std::vector<FieldError> errors;
  if (request.limit() > max_page) errors.push_back({"limit", "must be an integer from 1 to 1000 (0: 100)"});
  if (!filter.status.empty() && !jobs::is_job_status(filter.status)) {
    errors.push_back({"status", std::string(jobs::job_status_error)});
  }
  if (!request.after().empty()) {
    auto last = ctx.store.get_job(request.after());  // the cursor: the last job of the previous page
    if (last.is_ok()) {
      filter.after_seq = last.value().seq;
    } else if (last.status().code() == Status::Code::not_found) {
      errors.push_back({"after", "must be a job id returned as next_cursor"});
    } else {
      co_return store_failure(last.status(), "jobs");
    }
  }
  if (!errors.empty()) co_return invalid_argument("The request is not valid.", errors);
  auto rows = co_await jobs::list_filed_jobs(ctx.store, filter, {});
  if (!rows.is_ok()) co_return store_failure(rows.status(), "jobs");
  for (const auto& row : rows.value()) {
    fill_job(jobs::job_json(ctx.store, row), *reply.add_items());
  }
  if (rows.value().size() >= filter.limit) reply.set_next_cursor(rows.value().back().id);
  co_return grpc::Status::OK;
}

}  // namespace

DaisyService::DaisyService(RpcContext& ctx, asio::any_io_executor executor)
    : ctx_(ctx), executor_(std::move(executor)) {}

std::optional<DaisyService::InFlight> DaisyService::enter() {
  if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= ctx_.max_in_flight) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  return InFlight(in_flight_);
}

grpc::ServerUnaryReactor* DaisyService::Submit(grpc::CallbackServerContext* call, const v1::SubmitRequest* request,
                                               v1::SubmitReply* reply) {
  Principal caller;
  if (auto refusal = authorize(*call, ctx_.auth, Needs::app_or_admin, caller)) return finish_now(call, *refusal);
  auto slot = enter();
  if (!slot) return finish_now(call, overloaded);
  auto* reactor = call->DefaultReactor();
  finish_after(call, reactor, executor_,
               [](RpcContext& ctx, const v1::SubmitRequest& request, v1::SubmitReply& reply, Principal caller,
                  InFlight) -> asio::awaitable<grpc::Status> {
                 co_return co_await submit(ctx, request, reply, std::move(caller));
               }(ctx_, *request, *reply, std::move(caller), std::move(*slot)));
  return reactor;
}

grpc::ServerUnaryReactor* DaisyService::SendEvents(grpc::CallbackServerContext* call, const v1::EventBatch* request,
                                                   v1::BatchReply* reply) {
  Principal caller;
  if (auto refusal = authorize(*call, ctx_.auth, Needs::app, caller)) return finish_now(call, *refusal);
  auto slot = enter();
  if (!slot) return finish_now(call, overloaded);
  auto* reactor = call->DefaultReactor();
  finish_after(call, reactor, executor_,
               [](RpcContext& ctx, const v1::EventBatch& batch, v1::BatchReply& reply, std::string app_id,
                  InFlight) -> asio::awaitable<grpc::Status> {
                 co_return co_await send_events(ctx, batch, reply, app_id);
               }(ctx_, *request, *reply, caller.app_id, std::move(*slot)));
  return reactor;
}

grpc::ServerUnaryReactor* DaisyService::GetJob(grpc::CallbackServerContext* call, const v1::GetJobRequest* request,
                                               v1::Job* reply) {
  Principal caller;
  if (auto refusal = authorize(*call, ctx_.auth, Needs::admin, caller)) return finish_now(call, *refusal);
  auto* reactor = call->DefaultReactor();
  finish_after(call, reactor, executor_, get_job(ctx_, *request, *reply));
  return reactor;
}

grpc::ServerUnaryReactor* DaisyService::ListJobs(grpc::CallbackServerContext* call, const v1::ListJobsRequest* request,
                                                 v1::JobPage* reply) {
  Principal caller;
  if (auto refusal = authorize(*call, ctx_.auth, Needs::admin, caller)) return finish_now(call, *refusal);
  auto* reactor = call->DefaultReactor();
  finish_after(call, reactor, executor_, list_jobs(ctx_, *request, *reply));
  return reactor;
}

}  // namespace daisy::rpc
