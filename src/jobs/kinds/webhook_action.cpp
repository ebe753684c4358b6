#include "jobs/kinds/webhook_action.h"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <functional>
#include <mutex>

#include "jobs/kinds/webhook_config.h"
#include "jobs/kinds/webhook_signature.h"
#include "jobs/retry_policy.h"
#include "observability/log_value.h"
#include "util/ids.h"
#include "util/time.h"

namespace daisy::jobs {
namespace asio = boost::asio;

namespace {

constexpr std::size_t max_reply_bytes = 64 * 1024;

// The body every attempt of a job sends: the same bytes each time.
std::string webhook_body(const JobRow& job) {
  std::string body;
  body.reserve(job.payload.size() + 160);
  body.append(R"({"id":")").append(job.id);
  body.append(R"(","type":")").append(job.type);
  body.append(R"(","timestamp":")").append(job.created_at);
  body.append(R"(","data":)").append(job.payload).append("}");
  return body;
}

// The signed POST of a job to a webhook integration.
net::FetchRequest webhook_request(const ActiveIntegration& integration, const JobRow& job) {
  const WebhookConfig& config = config_of<WebhookConfig>(integration);
  net::FetchRequest request;
  request.url = config.url;
  request.method = "POST";
  request.body = webhook_body(job);
  request.timeout = std::chrono::milliseconds(config.timeout_ms);
  request.max_bytes = max_reply_bytes;
  request.follow_redirects = false;
  request.headers = config.headers;
  std::int64_t timestamp = std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
  // During a rotation both secrets sign, so receivers can switch at their pace.
  std::string signatures;
  for (const std::string* secret : {&integration.secret, &integration.previous_secret}) {
    if (secret->empty()) continue;
    if (secret == &integration.previous_secret && integration.previous_until < now_utc()) continue;
    if (auto signature = sign_webhook(*secret, job.id, timestamp, request.body)) {
      signatures += (signatures.empty() ? "" : " ") + *signature;
    }
  }
  request.headers.emplace_back("Content-Type", "application/json");
  request.headers.emplace_back("webhook-id", job.id);
  request.headers.emplace_back("webhook-timestamp", std::to_string(timestamp));
  request.headers.emplace_back("webhook-signature", signatures);
  return request;
}

// What a sync call's reply says, for the submit reply's action.
TriggeredAction sync_action(const ActiveIntegration& integration, const net::FetchResult& result) {
  TriggeredAction action{integration.id, "", "sync", "succeeded", "", ""};
  if (!result.error.empty()) {
    action.status = result.timed_out ? "timeout" : "failed";
    action.error = error_excerpt(result.error);
  } else if (result.status < 200 || result.status >= 300) {
    action.status = "failed";
    action.error = error_excerpt("HTTP " + std::to_string(result.status) + ": " + result.body);
  } else if (!result.body.empty()) {
    boost::json::error_code ec;
    boost::json::value reply = boost::json::parse(result.body, ec);
    if (ec) {
      action.error = "the reply is not JSON";
    } else {
      action.output = boost::json::serialize(reply);
    }
  }
  return action;
}

}  // namespace

asio::awaitable<AttemptOutcome> WebhookAction::deliver(const ActiveIntegration& integration, const JobRow& job) {
  co_await take_turn(integration);
  AttemptOutcome outcome;
  outcome.attempt.started_at = now_utc();
  auto started = std::chrono::steady_clock::now();
  net::FetchResult result = co_await services_.fetcher.fetch(webhook_request(integration, job));
  end_turn(integration.id);
  auto took = std::chrono::steady_clock::now() - started;
  outcome.attempt.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
  services_.attempt_seconds.observe(std::chrono::duration<double>(took).count());
  outcome.attempt.http_status = static_cast<int>(result.status);
  bool failing = !result.error.empty() || result.status >= 500 || result.status == 429;
  outcome.receiver = failing ? AttemptOutcome::Receiver::failing : AttemptOutcome::Receiver::answering;
  std::optional<std::chrono::seconds> retry_after;
  if (!result.error.empty()) {
    outcome.attempt.outcome = result.timed_out ? "timeout" : "failed";
    outcome.attempt.error = error_excerpt(result.error);
  } else if (result.status >= 200 && result.status < 300) {
    outcome.attempt.outcome = "succeeded";
    outcome.status = "succeeded";
    co_return outcome;
  } else if (result.status == 410) {
    outcome.attempt.outcome = "gone";
    outcome.attempt.error = "the receiver answered 410 Gone: the integration is disabled";
    outcome.status = "dead";
    outcome.disable_integration = "the receiver answered 410 Gone on " + outcome.attempt.started_at;
    co_return outcome;
  } else {
    outcome.attempt.outcome = "failed";
    outcome.attempt.error = error_excerpt("HTTP " + std::to_string(result.status) + ": " + result.body);
    if (result.status == 429 || result.status == 503) retry_after = parse_retry_after(result.retry_after, Clock::now());
    if (retry_after) outcome.retry_after_ms = now_ms() + std::chrono::milliseconds(*retry_after).count();
  }
  fail_or_bury(outcome, integration.definition.retry_schedule_s, job.attempts, retry_after);
  co_return outcome;
}

AttemptOutcome WebhookAction::settle_unanswered(const ActiveIntegration& integration, const JobRow& job) {
  return unrecorded_attempt_failed(integration, job);
}

asio::awaitable<void> WebhookAction::take_turn(const ActiveIntegration& integration) {
  const WebhookConfig& config = config_of<WebhookConfig>(integration);
  if (config.max_in_flight == 0 && config.max_per_second == 0) co_return;
  Pace& pace = paces_[integration.id];  // stays valid: elements of an unordered_map do not move
  while (config.max_in_flight > 0 && pace.in_flight >= static_cast<std::size_t>(config.max_in_flight)) {
    auto place = std::make_shared<asio::steady_timer>(services_.io, asio::steady_timer::time_point::max());
    pace.waiting.push_back(place);
    co_await place->async_wait(asio::as_tuple(asio::use_awaitable));
  }
  ++pace.in_flight;
  if (config.max_per_second > 0) {
    auto now = std::chrono::steady_clock::now();
    auto slot = std::max(now, pace.next_slot);
    pace.next_slot = slot + std::chrono::microseconds(1'000'000 / config.max_per_second);
    if (slot > now) {
      asio::steady_timer wait(services_.io, slot);
      co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
}

void WebhookAction::end_turn(const std::string& integration_id) {
  auto it = paces_.find(integration_id);
  if (it == paces_.end()) return;
  Pace& pace = it->second;
  if (pace.in_flight > 0) --pace.in_flight;
  if (!pace.waiting.empty()) {
    pace.waiting.front()->cancel();
    pace.waiting.pop_front();
  } else if (pace.in_flight == 0 && pace.next_slot <= std::chrono::steady_clock::now()) {
    paces_.erase(it);
  }
}

asio::awaitable<std::vector<TriggeredAction>> call_sync_webhooks(
    net::Fetcher& fetcher, std::vector<std::shared_ptr<const ActiveIntegration>> integrations, std::string type,
    std::string record_id, std::string payload) {
  if (integrations.empty()) co_return std::vector<TriggeredAction>{};
  // Every call at once; the reply waits for the slowest, each bounded by its timeout.
  struct Calls {
    std::mutex mu;
    std::vector<TriggeredAction> actions;
    std::size_t left = 0;
    std::function<void()> finish;
  };
  auto calls = std::make_shared<Calls>();
  calls->actions.resize(integrations.size());
  calls->left = integrations.size();
  std::string created_at = now_utc();
  auto initiate = [&, calls](auto handler) {
    using Handler = std::decay_t<decltype(handler)>;
    auto executor = asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
    auto shared = std::make_shared<Handler>(std::move(handler));
    calls->finish = [executor, shared] { asio::post(executor, [shared] { (*shared)(); }); };
    for (std::size_t i = 0; i < integrations.size(); ++i) {
      JobRow call;
      call.id = new_uuid_v7();  // the webhook-id of this call
      call.type = type;
      call.source_id = record_id;
      call.payload = payload;
      call.created_at = created_at;
      auto integration = integrations[i];
      fetcher.fetch(webhook_request(*integration, call), [calls, i, integration](net::FetchResult result) {
        std::function<void()> finish;
        {
          std::lock_guard lock(calls->mu);
          calls->actions[i] = sync_action(*integration, result);
          if (--calls->left == 0) finish = std::move(calls->finish);
        }
        if (finish) finish();
      });
    }
  };
  co_await asio::async_initiate<const asio::use_awaitable_t<>, void()>(initiate, asio::use_awaitable);
  std::lock_guard lock(calls->mu);
  for (const auto& a : calls->actions) {
    spdlog::info("msg=\"sync action\" integration={} source={} status={} error={}", a.integration_id, record_id,
                 a.status, log_value(a.error.empty() ? std::string_view("-") : a.error));
  }
  co_return calls->actions;
}

}  // namespace daisy::jobs
