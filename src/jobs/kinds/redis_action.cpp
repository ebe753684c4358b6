#include "jobs/kinds/redis_action.h"

#include "jobs/kinds/redis_config.h"
#include "jobs/retry_policy.h"
#include "util/crypto.h"
#include "util/time.h"

namespace daisy::jobs {
namespace asio = boost::asio;

asio::awaitable<AttemptOutcome> RedisAction::deliver(const ActiveIntegration& integration, const JobRow& job) {
  const RedisConfig& config = config_of<RedisConfig>(integration);
  AttemptOutcome outcome;
  outcome.attempt.started_at = now_utc();
  auto started = std::chrono::steady_clock::now();
  // The token is given to the microservice only; the job keeps its hash.
  std::string token = base64url(secure_random_bytes(32));
  std::string message;
  message.reserve(job.payload.size() + 300);
  message.append(R"({"job_id":")").append(job.id);
  message.append(R"(","type":")").append(job.type);
  message.append(R"(","data":)").append(job.payload);
  message.append(R"(,"callback_url":")").append(services_.callback_base).append("/v1/jobs/").append(job.id);
  message.append("/callback");
  message.append(R"(","callback_token":")").append(token).append("\"}");
  // The job awaits its callback (with the token's hash) before the message
  // goes out: a microservice may call back before PUBLISH has even returned.
  AttemptOutcome awaiting =
      awaiting_from_now(job, outcome.attempt.started_at, now_ms() + std::int64_t{config.callback_timeout_s} * 1000);
  awaiting.callback_token_hash = to_hex(bytes_of(sha256(token)));
  auto marked = co_await services_.store.finish_attempt(awaiting);
  if (!marked.is_ok() || !marked.value()) {
    // The store failed (the lease runs out and the job comes again), or the
    // job was cancelled meanwhile: nothing is published, and this outcome,
    // still "from running", is ignored unless the job is running.
    outcome.attempt.outcome = "failed";
    outcome.attempt.error =
        marked.is_ok() ? "the job changed before publishing" : error_excerpt(marked.status().message());
    fail_or_bury(outcome, integration.definition.retry_schedule_s, job.attempts);
    co_return outcome;
  }
  PublishResult published =
      co_await publisher_.publish(config.url, config.channel, std::move(message), std::chrono::milliseconds(5000));
  outcome.attempt.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  // From here the job awaits its callback: a callback that came already has
  // ended it, and then what follows is ignored.
  outcome.from_status = "awaiting_callback";
  if (!published.error.empty() || published.receivers == 0) {
    outcome.attempt.outcome = "failed";
    outcome.attempt.error = published.error.empty() ? "no subscriber received the message on channel " + config.channel
                                                    : error_excerpt(published.error);
    fail_or_bury(outcome, integration.definition.retry_schedule_s, job.attempts);
    co_return outcome;
  }
  outcome.attempt.outcome = awaiting.attempt.outcome;
  outcome.status = awaiting.status;
  outcome.callback_token_hash = awaiting.callback_token_hash;
  outcome.due_ms = awaiting.due_ms;
  co_return outcome;
}

AttemptOutcome RedisAction::settle_unanswered(const ActiveIntegration& integration, const JobRow& job) {
  AttemptOutcome outcome;
  // The attempt that published keeps its start; it has now failed.
  auto attempts = services_.store.list_attempts(job.seq);
  if (attempts.is_ok() && !attempts.value().empty()) {
    const JobAttemptRow& last = attempts.value().back();
    outcome.attempt.started_at = last.started_at;
    outcome.attempt.duration_ms = last.duration_ms;
  }
  outcome.attempt.outcome = "timeout";
  outcome.attempt.error =
      "no callback came within " + std::to_string(config_of<RedisConfig>(integration).callback_timeout_s) + " s";
  fail_or_bury(outcome, integration.definition.retry_schedule_s, job.attempts);
  return outcome;
}

}  // namespace daisy::jobs
