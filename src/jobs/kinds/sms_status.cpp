#include "jobs/kinds/sms_status.h"

#include <spdlog/spdlog.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <utility>

#include "jobs/callbacks.h"
#include "jobs/kinds/sms_config.h"
#include "observability/log_value.h"
#include "util/crypto.h"
#include "util/time.h"

namespace daisy::jobs {
namespace {
namespace json = boost::json;

using Kind = SmsStatusAnswer::Kind;

// Delivery statuses taken since start: delivered, failed, undelivered, other.
std::atomic<std::uint64_t> statuses_taken[4];

std::string param(const FormParams& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

void count_status(std::string_view status) {
  std::size_t i = status == "delivered" ? 0 : status == "failed" ? 1 : status == "undelivered" ? 2 : 3;
  statuses_taken[i].fetch_add(1, std::memory_order_relaxed);
}

bool has_ended(const JobRow& job) {
  return job.status == "succeeded" || job.status == "dead" || job.status == "cancelled";
}

// Whether the job may take this status: awaiting it, for this message.
SmsStatusAnswer check_job(const JobRow& job, const std::string& sid) {
  if (has_ended(job)) return {Kind::taken, "the job has ended (" + job.status + ")", {}};
  std::string expected = sms_sid_of(job.output);
  if (job.status != "awaiting_callback") {
    return {Kind::conflict, "The job is " + job.status + ": it is not awaiting a delivery status.", {}};
  }
  if (!expected.empty() && !sid.empty() && expected != sid) {
    return {Kind::conflict, "The job awaits the status of another message.", {}};
  }
  return {Kind::taken, {}, {}};
}

}  // namespace

bool settle_by_status(AttemptOutcome& outcome, std::string_view sid, std::string_view status,
                      std::string_view error_code) {
  json::object output{{"sid", sid}, {"status", status}};
  if (status == "delivered") {
    outcome.attempt.outcome = "succeeded";
    outcome.attempt.error.clear();
    outcome.status = "succeeded";
  } else if (status == "failed" || status == "undelivered") {
    outcome.attempt.outcome = "failed";
    outcome.attempt.error = "Twilio could not deliver message " + std::string(sid) + ": " + std::string(status) +
                            (error_code.empty() ? "" : ", ErrorCode " + std::string(error_code));
    outcome.status = "dead";
    if (!error_code.empty()) output["error_code"] = error_code;
  } else {
    return false;
  }
  outcome.due_ms = 0;
  outcome.output = json::serialize(output);
  return true;
}

std::string sms_sid_of(std::string_view output) {
  json::error_code ec;
  json::value v = json::parse(output, ec);
  if (ec || !v.is_object()) return {};
  const json::value* sid = v.as_object().if_contains("sid");
  return sid && sid->is_string() ? std::string(sid->as_string()) : std::string();
}

boost::asio::awaitable<SmsStatusAnswer> record_sms_status(JobStore& store, const IntegrationRegistry& integrations,
                                                          SmsStatusReport report) {
  auto integration = integrations.find(report.integration_id);
  const SmsConfig* config = integration ? integration->definition.config_as<SmsConfig>() : nullptr;
  if (!config) co_return SmsStatusAnswer{Kind::not_found, "integration " + report.integration_id, {}};
  std::string expected = twilio_signature(config->auth_token, report.url, report.params);
  if (report.signature.empty() || !constant_time_equal(expected, report.signature)) {
    spdlog::warn("msg=\"sms status refused: bad signature\" integration={} job={}", integration->id,
                 log_value(report.job_id));
    co_return SmsStatusAnswer{Kind::forbidden, "X-Twilio-Signature is missing or wrong.", {}};
  }
  auto job = store.get_job(report.job_id);
  if (!job.is_ok()) {
    if (job.status().code() != Status::Code::not_found) co_return SmsStatusAnswer{Kind::store_failed, {}, job.status()};
    co_return SmsStatusAnswer{Kind::not_found, "job " + report.job_id, {}};
  }
  if (job.value().integration_id != integration->id)
    co_return SmsStatusAnswer{Kind::not_found, "job " + report.job_id, {}};
  std::string status = param(report.params, "MessageStatus");
  std::string sid = param(report.params, "MessageSid");
  if (status.empty()) co_return SmsStatusAnswer{Kind::bad_request, "MessageStatus is missing.", {}};
  spdlog::info("msg=\"sms status\" integration={} job={} sid={} status={}", integration->id, job.value().id,
               log_value(sid), log_value(status));
  count_status(status);
  AttemptOutcome outcome = ending_awaited_attempt(store, job.value());  // the send's attempt
  if (!settle_by_status(outcome, sid, status, param(report.params, "ErrorCode"))) co_return SmsStatusAnswer{};
  if (SmsStatusAnswer checked = check_job(job.value(), sid); checked.kind != Kind::taken || has_ended(job.value())) {
    co_return checked;
  }
  auto recorded = co_await store.finish_attempt(std::move(outcome));
  if (!recorded.is_ok()) co_return SmsStatusAnswer{Kind::store_failed, {}, recorded.status()};
  if (recorded.value()) co_return SmsStatusAnswer{};
  auto now = store.get_job(report.job_id);  // it moved on meanwhile
  if (now.is_ok() && has_ended(now.value())) co_return SmsStatusAnswer{};
  co_return SmsStatusAnswer{Kind::conflict, "The job is no longer awaiting this message's status.", {}};
}

void render_sms_status_metrics(std::string& out) {
  out += "# HELP daisy_sms_statuses_total Delivery statuses Twilio reported (signed status callbacks), by status.\n";
  out += "# TYPE daisy_sms_statuses_total counter\n";
  const char* names[] = {"delivered", "failed", "undelivered", "other"};
  for (std::size_t i = 0; i < 4; ++i) {
    out += "daisy_sms_statuses_total{status=\"" + std::string(names[i]) + "\"} " +
           std::to_string(statuses_taken[i].load(std::memory_order_relaxed)) + "\n";
  }
}

}  // namespace daisy::jobs
