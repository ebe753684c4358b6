#include "jobs/job_runner.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>


#include "jobs/retry_policy.h"
#include "jobs/webhook_signature.h"
#include "util/crypto.h"
#include "util/ids.h"
#include "util/iso8601.h"
#include "util/thread_name.h"
#include "util/time.h"
#include "observability/log_value.h"

namespace daisy::jobs {
namespace asio = boost::asio;

namespace {

constexpr std::size_t claim_at_most = 128;
constexpr std::chrono::milliseconds claim_gather{5};
constexpr std::chrono::milliseconds busy_sample_window{20};  // how often the request path's write rate is read
// The queue's counts for /metrics are read here, on the runner's thread: with
// a backlog of hundreds of thousands of jobs a count takes tens of
// milliseconds, too long for an I/O thread at every scrape.
constexpr std::chrono::milliseconds queue_count_interval{1000};
constexpr std::size_t error_excerpt_bytes = 500;
constexpr std::size_t max_reply_bytes = 64 * 1024;

std::string excerpt(std::string_view text) {
  if (text.size() <= error_excerpt_bytes) return std::string(text);
  return std::string(text.substr(0, error_excerpt_bytes)) + "...";
}

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

}  // namespace

namespace {

constexpr std::array<std::string_view, 6> outcomes = {"succeeded", "failed", "timeout", "gone", "cancelled", "other"};

std::size_t outcome_index(std::string_view outcome) {
  for (std::size_t i = 0; i + 1 < outcomes.size(); ++i) {
    if (outcomes[i] == outcome) return i;
  }
  return outcomes.size() - 1;
}

// The signed POST of a job to a webhook integration.
net::FetchRequest webhook_request(const ActiveIntegration& integration, const JobRow& job) {
  const WebhookConfig& config = integration.definition.webhook;
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
    action.error = excerpt(result.error);
  } else if (result.status < 200 || result.status >= 300) {
    action.status = "failed";
    action.error = excerpt("HTTP " + std::to_string(result.status) + ": " + result.body);
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

JobRunner::JobRunner(JobStore& store, IntegrationRegistry& integrations, JobRunnerSettings settings)
    : store_(store),
      integrations_(integrations),
      settings_(settings),
      timer_(io_),
      queue_timer_(io_),
      fetcher_(settings.allow_private_targets, /*background=*/true),
      sync_fetcher_(settings.allow_private_targets),
      redis_(settings.allow_private_targets),
      attempt_seconds_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      delivery_seconds_({0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600, 21600, 86400}) {}

void JobRunner::render_metrics(std::string& out) const {
  if (queue_counted_.load(std::memory_order_acquire)) {
    out += "# HELP daisy_jobs Jobs waiting or under way, by status (the queue; counted every second).\n"
           "# TYPE daisy_jobs gauge\n";
    for (std::size_t i = 0; i < queue_statuses.size(); ++i) {
      out += "daisy_jobs{status=\"" + std::string(queue_statuses[i]) + "\"} " +
             std::to_string(queue_[i].load(std::memory_order_relaxed)) + "\n";
    }
  }
  out += "# HELP daisy_jobs_in_flight Deliveries under way in this process.\n# TYPE daisy_jobs_in_flight gauge\n";
  out += "daisy_jobs_in_flight " + std::to_string(in_flight_.load()) + "\n";
  out += "# HELP daisy_job_attempts_total Job attempts ended, by outcome.\n# TYPE daisy_job_attempts_total counter\n";
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    out += "daisy_job_attempts_total{outcome=\"" + std::string(outcomes[i]) + "\"} " +
           std::to_string(attempts_[i].load(std::memory_order_relaxed)) + "\n";
  }
  out += "# HELP daisy_job_attempt_seconds Time of one webhook request.\n# TYPE daisy_job_attempt_seconds histogram\n";
  attempt_seconds_.render(out, "daisy_job_attempt_seconds", "");
  out += "# HELP daisy_job_delivery_seconds From a job's creation to its successful delivery.\n"
         "# TYPE daisy_job_delivery_seconds histogram\n";
  delivery_seconds_.render(out, "daisy_job_delivery_seconds", "");
}

JobRunner::~JobRunner() { stop(); }

void JobRunner::start() {
  asio::co_spawn(io_, loop(), asio::detached);
  asio::co_spawn(io_, count_queue(), asio::detached);
  thread_ = std::thread([this] {
    name_this_thread("daisy-jobs");
    // Async deliveries yield the CPU to the request path: under load the
    // queue grows and drains when the submissions ease.
    lower_this_threads_priority();
    io_.run();
  });
}

void JobRunner::stop() {
  if (stopped_.exchange(true)) return;
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void JobRunner::wake() {
  if (stopped_.load(std::memory_order_relaxed)) return;
  // Only an idle runner is interrupted: under load every submission wakes
  // it, and a post to a waiting io_context costs a system call and a switch.
  // Sequentially consistent, with the runner's side in loop(): either it sees
  // woken_ before it sleeps, or this sees sleeping_ and interrupts it.
  woken_.store(true);
  if (sleeping_.exchange(false)) asio::post(io_, [this] { timer_.cancel(); });
}

asio::awaitable<void> JobRunner::count_queue() {
  for (;;) {
    auto open = store_.count_open_jobs();
    if (open.is_ok()) {
      for (const auto& [status, n] : open.value()) {
        for (std::size_t i = 0; i < queue_statuses.size(); ++i) {
          if (status == queue_statuses[i]) queue_[i].store(n, std::memory_order_relaxed);
        }
      }
      queue_counted_.store(true, std::memory_order_release);
    } else {
      spdlog::warn("msg=\"cannot count the jobs\" error={}", log_value(open.status().message()));
    }
    queue_timer_.expires_after(queue_count_interval);
    co_await queue_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

bool JobRunner::request_path_busy() {
  auto now = std::chrono::steady_clock::now();
  if (now - sampled_at_ < busy_sample_window) return busy_;
  std::uint64_t writes = store_.request_writes();
  double seconds = std::chrono::duration<double>(now - sampled_at_).count();
  // Signed: the two counters behind request_writes() are read apart, so a
  // sample may come out one lower than the last.
  auto made = std::max<std::int64_t>(0, static_cast<std::int64_t>(writes - sampled_writes_));
  busy_ = static_cast<double>(made) > settings_.busy_request_writes_per_s * seconds;
  sampled_at_ = now;
  sampled_writes_ = writes;
  return busy_;
}

asio::awaitable<void> JobRunner::loop() {
  // What this node's last process left running is due at once: alone on its
  // database (SQLite) every running job is its own; on a shared one (PostgreSQL)
  // the store requeues only the jobs this node held.
  Status requeued = co_await store_.requeue_running_jobs(now_ms());
  if (!requeued.is_ok()) spdlog::error("msg=\"cannot requeue jobs left running\" error={}", log_value(requeued.message()));
  for (;;) {
    woken_.store(false, std::memory_order_relaxed);
    // Claims give way to the request path while it writes fast: one claim
    // per busy_claim_interval then, so the queue still moves.
    if (request_path_busy() && std::chrono::steady_clock::now() - last_claim_ < settings_.busy_claim_interval) {
      timer_.expires_at(last_claim_ + settings_.busy_claim_interval);
      co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    std::size_t room = settings_.max_in_flight - in_flight_;
    bool maybe_more = false;
    if (room > 0) {
      last_claim_ = std::chrono::steady_clock::now();
      std::size_t want = std::min(room, claim_at_most);
      auto claimed = co_await store_.claim_jobs(now_ms(), settings_.lease.count(), want);
      if (!claimed.is_ok()) {
        spdlog::error("msg=\"cannot take due jobs\" error={}", log_value(claimed.status().message()));
      } else {
        for (JobRow& job : claimed.value()) {
          ++in_flight_;
          asio::co_spawn(io_, run_job(std::move(job)), asio::detached);
        }
        maybe_more = claimed.value().size() == want;
      }
    }
    if (maybe_more) continue;
    if (woken_.load(std::memory_order_acquire)) {
      // Woken by new jobs: gather a few milliseconds' worth into one claim,
      // instead of a claim (a write) per submission.
      timer_.expires_after(claim_gather);
      co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    // Idle until the next poll, or until a wake cuts it short. A wake that
    // came before sleeping_ was set is seen by the check after it.
    sleeping_.store(true);
    if (woken_.load()) {
      sleeping_.store(false);
      continue;
    }
    timer_.expires_after(settings_.poll);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    sleeping_.store(false, std::memory_order_relaxed);
  }
}

asio::awaitable<void> JobRunner::run_job(JobRow job) {
  auto integration = integrations_.find(job.integration_id);
  // Before a job is cancelled for it, the store decides: another node
  // sharing the database may have created or enabled the integration after
  // this node's registry last followed it.
  if (!integration || !integration->definition.enabled) {
    auto row = store_.get_integration(job.integration_id);
    if (row.is_ok()) {
      integrations_.put(row.value(), IntegrationRegistry::Source::store);
    } else if (row.status().code() == Status::Code::not_found) {
      integrations_.remove(job.integration_id);
    }
    integration = integrations_.find(job.integration_id);
  }
  AttemptOutcome outcome;
  if (!integration) {
    outcome.status = "cancelled";
    outcome.attempt.outcome = "cancelled";
    outcome.attempt.error = "the integration no longer exists";
  } else if (!integration->definition.enabled) {
    outcome.status = "cancelled";
    outcome.attempt.outcome = "cancelled";
    outcome.attempt.error = "the integration is disabled";
  } else if (job.callback_expired) {
    outcome = callback_missed(*integration, job);
  } else if (Status rendered = render_payload(job); !rendered.is_ok()) {
    outcome.attempt.error = "cannot read the payload: " + rendered.message();
    if (rendered.code() == Status::Code::not_found) {
      outcome.status = "cancelled";
      outcome.attempt.outcome = "cancelled";
    } else {
      outcome.attempt.outcome = "failed";
      fail_or_bury(outcome, integration->definition.retry_schedule_s, job.attempts);
    }
  } else if (integration->definition.type == "webhook") {
    co_await take_turn(*integration);
    outcome = co_await deliver_webhook(*integration, job);
    end_turn(integration->id);
  } else if (integration->definition.type == "redis") {
    outcome = co_await deliver_redis(*integration, job);
  } else {
    outcome.status = "cancelled";
    outcome.attempt.outcome = "cancelled";
    outcome.attempt.error = "this Daisy cannot deliver " + integration->definition.type + " integrations";
  }
  outcome.job_id = job.id;
  outcome.attempt_number = job.attempts;
  if (outcome.attempt.started_at.empty()) outcome.attempt.started_at = now_utc();
  spdlog::info("msg=\"job attempt\" job={} integration={} attempt={} outcome={} http_status={} status={} ms={} error={}",
               job.id, job.integration_id, job.attempts, outcome.attempt.outcome, outcome.attempt.http_status,
               outcome.status, outcome.attempt.duration_ms,
               log_value(outcome.attempt.error.empty() ? std::string_view("-") : outcome.attempt.error));
  attempts_[outcome_index(outcome.attempt.outcome)].fetch_add(1, std::memory_order_relaxed);
  if (outcome.status == "succeeded") {
    if (auto created = parse_timestamp_ns(job.created_at)) {
      delivery_seconds_.observe(static_cast<double>(now_ns() - *created) / 1e9);
    }
  }
  bool disables = !outcome.disable_integration.empty();
  auto recorded = co_await store_.finish_attempt(std::move(outcome));
  if (!recorded.is_ok()) {
    // The lease runs out and the job is attempted again.
    spdlog::error("msg=\"cannot record a job attempt\" job={} error={}", job.id, log_value(recorded.status().message()));
  } else if (disables && recorded.value()) {
    // The store disabled the integration: new submissions must see it too.
    auto row = store_.get_integration(job.integration_id);
    if (row.is_ok()) integrations_.put(row.value());
  }
  --in_flight_;
  wake();  // a place is free
}

asio::awaitable<std::vector<TriggeredAction>> JobRunner::call_sync(
    std::vector<std::shared_ptr<const ActiveIntegration>> integrations, std::string type, std::string record_id,
    std::string payload) {
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
    auto executor =
        asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
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
      sync_fetcher_.fetch(webhook_request(*integration, call), [calls, i, integration](net::FetchResult result) {
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

asio::awaitable<void> JobRunner::take_turn(const ActiveIntegration& integration) {
  const WebhookConfig& config = integration.definition.webhook;
  if (config.max_in_flight == 0 && config.max_per_second == 0) co_return;
  Pace& pace = paces_[integration.id];  // stays valid: elements of an unordered_map do not move
  while (config.max_in_flight > 0 && pace.in_flight >= static_cast<std::size_t>(config.max_in_flight)) {
    auto place = std::make_shared<asio::steady_timer>(io_, asio::steady_timer::time_point::max());
    pace.waiting.push_back(place);
    co_await place->async_wait(asio::as_tuple(asio::use_awaitable));
  }
  ++pace.in_flight;
  if (config.max_per_second > 0) {
    auto now = std::chrono::steady_clock::now();
    auto slot = std::max(now, pace.next_slot);
    pace.next_slot = slot + std::chrono::microseconds(1'000'000 / config.max_per_second);
    if (slot > now) {
      asio::steady_timer wait(io_, slot);
      co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
}

void JobRunner::end_turn(const std::string& integration_id) {
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

asio::awaitable<AttemptOutcome> JobRunner::deliver_webhook(const ActiveIntegration& integration, const JobRow& job) {
  AttemptOutcome outcome;
  outcome.attempt.started_at = now_utc();
  auto started = std::chrono::steady_clock::now();

  net::FetchResult result = co_await fetcher_.fetch(webhook_request(integration, job));
  auto took = std::chrono::steady_clock::now() - started;
  outcome.attempt.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
  attempt_seconds_.observe(std::chrono::duration<double>(took).count());
  outcome.attempt.http_status = static_cast<int>(result.status);
  std::optional<std::chrono::seconds> retry_after;
  if (!result.error.empty()) {
    outcome.attempt.outcome = result.timed_out ? "timeout" : "failed";
    outcome.attempt.error = excerpt(result.error);
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
    outcome.attempt.error = excerpt("HTTP " + std::to_string(result.status) + ": " + result.body);
    if (result.status == 429 || result.status == 503) retry_after = parse_retry_after(result.retry_after, Clock::now());
  }
  fail_or_bury(outcome, integration.definition.retry_schedule_s, job.attempts, retry_after);
  co_return outcome;
}

asio::awaitable<AttemptOutcome> JobRunner::deliver_redis(const ActiveIntegration& integration, const JobRow& job) {
  const RedisConfig& config = integration.definition.redis;
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
  message.append(R"(,"callback_url":")").append(callback_base_).append("/v1/jobs/").append(job.id).append("/callback");
  message.append(R"(","callback_token":")").append(token).append("\"}");
  // The job awaits its callback (with the token's hash) before the message
  // goes out: a microservice may call back before PUBLISH has even returned.
  AttemptOutcome awaiting;
  awaiting.job_id = job.id;
  awaiting.attempt_number = job.attempts;
  awaiting.attempt.started_at = outcome.attempt.started_at;
  awaiting.attempt.outcome = "awaiting_callback";
  awaiting.status = "awaiting_callback";
  awaiting.callback_token_hash = to_hex(bytes_of(sha256(token)));
  awaiting.due_ms = now_ms() + std::int64_t{config.callback_timeout_s} * 1000;
  auto marked = co_await store_.finish_attempt(awaiting);
  if (!marked.is_ok() || !marked.value()) {
    // The store failed (the lease runs out and the job comes again), or the
    // job was cancelled meanwhile: nothing is published, and this outcome,
    // still "from running", is ignored unless the job is running.
    outcome.attempt.outcome = "failed";
    outcome.attempt.error = marked.is_ok() ? "the job changed before publishing" : excerpt(marked.status().message());
    fail_or_bury(outcome, integration.definition.retry_schedule_s, job.attempts);
    co_return outcome;
  }
  PublishResult published =
      co_await redis_.publish(config.url, config.channel, std::move(message), std::chrono::milliseconds(5000));
  outcome.attempt.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  // From here the job awaits its callback: a callback that came already has
  // ended it, and then what follows is ignored.
  outcome.from_status = "awaiting_callback";
  if (!published.error.empty() || published.receivers == 0) {
    outcome.attempt.outcome = "failed";
    outcome.attempt.error = published.error.empty()
                                ? "no subscriber received the message on channel " + config.channel
                                : excerpt(published.error);
    fail_or_bury(outcome, integration.definition.retry_schedule_s, job.attempts);
    co_return outcome;
  }
  outcome.attempt.outcome = awaiting.attempt.outcome;
  outcome.status = awaiting.status;
  outcome.callback_token_hash = awaiting.callback_token_hash;
  outcome.due_ms = awaiting.due_ms;
  co_return outcome;
}

Status JobRunner::render_payload(JobRow& job) {
  if (!job.refers_to_revision()) return Status::ok();
  auto payload = settings_.payload_of(job);
  if (!payload.is_ok()) return payload.status();
  job.payload = std::move(payload.value());
  return Status::ok();
}

AttemptOutcome JobRunner::callback_missed(const ActiveIntegration& integration, const JobRow& job) {
  AttemptOutcome outcome;
  // The attempt that published keeps its start; it has now failed.
  auto attempts = store_.list_attempts(job.seq);
  if (attempts.is_ok() && !attempts.value().empty()) {
    const JobAttemptRow& last = attempts.value().back();
    outcome.attempt.started_at = last.started_at;
    outcome.attempt.duration_ms = last.duration_ms;
  }
  outcome.attempt.outcome = "timeout";
  outcome.attempt.error = "no callback came within " +
                          std::to_string(integration.definition.redis.callback_timeout_s) + " s";
  fail_or_bury(outcome, integration.definition.retry_schedule_s, job.attempts);
  return outcome;
}

}  // namespace daisy::jobs
