#include "jobs/job_runner.h"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "jobs/delivery_batches.h"
#include "jobs/kinds/script_action.h"
#include "jobs/kinds/script_code.h"
#include "jobs/kinds/script_config.h"
#include "jobs/kinds/script_http.h"
#include "jobs/kinds/webhook_action.h"
#include "jobs/retry_policy.h"
#include "live/publish.h"
#include "observability/log_value.h"
#include "util/iso8601.h"
#include "util/thread_name.h"
#include "util/time.h"

namespace daisy::jobs {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::size_t claim_at_most = 128;
constexpr std::chrono::milliseconds claim_gather{5};
constexpr std::chrono::milliseconds busy_sample_window{20};  // how often the request path's write rate is read
// The queue's counts for /metrics are read here, on the runner's thread: with
// a backlog of hundreds of thousands of jobs a count takes tens of
// milliseconds, too long for an I/O thread at every scrape.
constexpr std::chrono::milliseconds queue_count_interval{1000};

constexpr std::array<std::string_view, 7> outcomes = {"succeeded", "failed",  "timeout", "gone",
                                                      "cancelled", "skipped", "other"};

// Jobs' runs at nice 10, as the rest of the runner; sync runs (part of a
// submission) and /test on threads of their own at normal priority, so a
// backlog of script jobs never delays a collector's reply.
WorkerPoolSettings script_runner_settings(unsigned threads, bool sync) {
  WorkerPoolSettings settings;
  settings.name = sync ? "script-sync" : "script";
  settings.metric = sync ? "daisy_sync_script_runner" : "daisy_script_runner";
  settings.what = sync ? "Sync Lua scripts and transforms" : "Lua scripts and transforms of jobs";
  settings.threads = threads;
  settings.max_queued = 1024;
  settings.max_wait = std::chrono::milliseconds(5000);
  settings.lower_priority = !sync;
  return settings;
}

std::size_t outcome_index(std::string_view outcome) {
  for (std::size_t i = 0; i + 1 < outcomes.size(); ++i) {
    if (outcomes[i] == outcome) return i;
  }
  return outcomes.size() - 1;
}

// What a stream is told of an attempt: the job's new state (GET
// /v1/jobs/{id} has all of it, its payload included).
std::string job_update_json(const JobRow& job, const std::string& status, const std::string& outcome,
                            const std::string& error) {
  return json::serialize(json::object{{"id", job.id},
                                      {"integration_id", job.integration_id},
                                      {"source_id", job.source_id},
                                      {"type", job.type},
                                      {"status", status},
                                      {"attempts", job.attempts},
                                      {"outcome", outcome},
                                      {"error", error.empty() ? json::value(nullptr) : json::value(error)}});
}

}  // namespace

JobRunner::JobRunner(JobStore& store, IntegrationRegistry& integrations, JobRunnerSettings settings)
    : store_(store),
      integrations_(integrations),
      settings_(settings),
      timer_(io_),
      queue_timer_(io_),
      lease_timer_(io_),
      fetcher_(settings.allow_private_targets, /*background=*/true),
      sync_fetcher_(settings.allow_private_targets),
      scripts_(script_runner_settings(settings.script_threads, false)),
      sync_scripts_(script_runner_settings(settings.script_threads, true)),
      script_http_(script_http_through(fetcher_)),
      sync_script_http_(script_http_through(sync_fetcher_)),
      attempt_seconds_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      delivery_seconds_({0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600, 21600, 86400}),
      kinds_(make_action_kinds({io_, store_, fetcher_, settings.allow_private_targets, callback_base_, attempt_seconds_,
                                settings_.form_of, scripts_, script_http_})) {}

void JobRunner::render_metrics(std::string& out) const {
  if (queue_counted_.load(std::memory_order_acquire)) {
    out +=
        "# HELP daisy_jobs Jobs waiting or under way, by status (the queue; counted every second).\n"
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
  out +=
      "# HELP daisy_jobs_dead_total Jobs that ended dead through this node (no attempt left, or refused for "
      "good): see GET /v1/jobs?status=dead.\n# TYPE daisy_jobs_dead_total counter\n";
  out += "daisy_jobs_dead_total " + std::to_string(dead_.load(std::memory_order_relaxed)) + "\n";
  scripts_.render_metrics(out);
  sync_scripts_.render_metrics(out);
  out +=
      "# HELP daisy_job_attempt_seconds Time of one delivery attempt, of every integration type: webhook (the HTTP "
      "request), sheets (the append to Google Sheets), sms (the send to Twilio), script (the Lua run); redis "
      "publishes are not timed (the callback ends them).\n"
      "# TYPE daisy_job_attempt_seconds histogram\n";
  attempt_seconds_.render(out, "daisy_job_attempt_seconds", "");
  out +=
      "# HELP daisy_job_delivery_seconds From a job's creation to its successful delivery.\n"
      "# TYPE daisy_job_delivery_seconds histogram\n";
  delivery_seconds_.render(out, "daisy_job_delivery_seconds", "");
  for (const auto& [type, kind] : kinds_) kind->render_metrics(out);
}

JobRunner::~JobRunner() { stop(); }

void JobRunner::start() {
  asio::co_spawn(io_, loop(), asio::detached);
  asio::co_spawn(io_, count_queue(), asio::detached);
  asio::co_spawn(io_, keep_leases(), asio::detached);
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

asio::awaitable<void> JobRunner::keep_leases() {
  auto interval = std::max<std::chrono::milliseconds>(settings_.lease / 3, std::chrono::milliseconds(100));
  for (;;) {
    lease_timer_.expires_after(interval);
    co_await lease_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (held_.empty()) continue;
    std::vector<HeldJob> held;
    held.reserve(held_.size());
    for (const auto& [seq, attempts] : held_) held.push_back({seq, attempts});
    Status extended = co_await store_.extend_leases(std::move(held), now_ms() + settings_.lease.count());
    if (!extended.is_ok()) spdlog::warn("msg=\"cannot extend job leases\" error={}", log_value(extended.message()));
  }
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
  if (!requeued.is_ok())
    spdlog::error("msg=\"cannot requeue jobs left running\" error={}", log_value(requeued.message()));
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
        maybe_more = claimed.value().size() == want;
        auto deliveries =
            group_for_delivery(std::move(claimed.value()), [this](std::string_view id) { return max_batch_of(id); });
        for (std::vector<JobRow>& delivery : deliveries) {
          ++in_flight_;  // a delivery, however many jobs it carries (a sheet's batch gathers many)
          asio::co_spawn(io_, run_delivery(std::move(delivery)), asio::detached);
        }
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

std::shared_ptr<const ActiveIntegration> JobRunner::integration_for(const std::string& integration_id) {
  auto integration = integrations_.find(integration_id);
  // Before a job is cancelled for it, the store decides: another node
  // sharing the database may have created or enabled the integration after
  // this node's registry last followed it.
  if (!integration || !integration->definition.enabled) {
    auto row = store_.get_integration(integration_id);
    if (row.is_ok()) {
      integrations_.put(row.value(), IntegrationRegistry::Source::store);
    } else if (row.status().code() == Status::Code::not_found) {
      integrations_.remove(integration_id);
    }
    integration = integrations_.find(integration_id);
  }
  return integration;
}

std::size_t JobRunner::max_batch_of(std::string_view integration_id) const {
  auto integration = integrations_.find(integration_id);
  if (!integration) return 1;
  auto kind = kinds_.find(integration->definition.type);
  return kind == kinds_.end() ? 1 : kind->second->max_batch();
}

asio::awaitable<void> JobRunner::run_delivery(std::vector<JobRow> jobs) {
  for (const JobRow& job : jobs) held_[job.seq] = job.attempts;
  auto integration = integration_for(jobs.front().integration_id);
  // Jobs that cannot be delivered, and attempts settled without a delivery,
  // have their outcomes at once; the others go to the kind.
  std::vector<AttemptOutcome> outcomes(jobs.size());
  std::vector<std::size_t> to_deliver;
  ActionKind* kind = nullptr;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (auto refused = undeliverable(integration.get(), jobs[i])) {
      outcomes[i] = std::move(*refused);
      continue;
    }
    kind = kinds_.at(integration->definition.type).get();
    if (jobs[i].callback_expired) {
      outcomes[i] = kind->settle_unanswered(*integration, jobs[i]);
    } else {
      to_deliver.push_back(i);
    }
  }
  // A paced integration's turn, handed out by the claim (the store's pacing).
  std::int64_t not_before_ms = 0;
  for (std::size_t i : to_deliver) not_before_ms = std::max(not_before_ms, jobs[i].not_before_ms);
  if (std::int64_t wait_ms = not_before_ms - now_ms(); wait_ms > 0) {
    asio::steady_timer turn(io_, std::chrono::milliseconds(wait_ms));
    co_await turn.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  // (Jobs to deliver have an integration; with none, every job was refused above.)
  if (!to_deliver.empty() && integration->definition.type != "script" && script_of(integration->definition)) {
    co_await transform_payloads(*integration, jobs, to_deliver, outcomes);
  }
  // What a transform logged stays in the attempt that delivers its payload
  // (kinds that record an attempt themselves take it from JobRow::log_before).
  auto delivered_as = [](AttemptOutcome& outcome, AttemptOutcome delivered) {
    if (delivered.attempt.log.empty()) delivered.attempt.log = std::move(outcome.attempt.log);
    outcome = std::move(delivered);
  };
  if (to_deliver.size() == 1) {
    delivered_as(outcomes[to_deliver.front()], co_await kind->deliver(*integration, jobs[to_deliver.front()]));
  } else if (!to_deliver.empty()) {
    std::vector<JobRow> batch;
    batch.reserve(to_deliver.size());
    for (std::size_t i : to_deliver) batch.push_back(jobs[i]);
    std::vector<AttemptOutcome> delivered = co_await kind->deliver_batch(*integration, batch);
    for (std::size_t k = 0; k < to_deliver.size(); ++k) {
      AttemptOutcome& outcome = outcomes[to_deliver[k]];
      if (k < delivered.size()) {
        delivered_as(outcome, std::move(delivered[k]));
        continue;
      }
      // A kind that answers for fewer jobs than it was given: the rest are tried again.
      outcome.attempt.outcome = "failed";
      outcome.attempt.error = "the delivery gave no outcome for this job";
      fail_or_bury(outcome, integration->definition.retry_schedule_s, jobs[to_deliver[k]].attempts);
    }
  }
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    co_await record_attempt(jobs[i], std::move(outcomes[i]));
    held_.erase(jobs[i].seq);
  }
  --in_flight_;
  wake();  // a place is free
}

asio::awaitable<void> JobRunner::record_attempt(const JobRow& job, AttemptOutcome outcome) {
  outcome.job_id = job.id;
  outcome.attempt_number = job.attempts;
  if (outcome.attempt.started_at.empty()) outcome.attempt.started_at = now_utc();
  spdlog::info(
      "msg=\"job attempt\" job={} integration={} attempt={} outcome={} http_status={} status={} ms={} error={}", job.id,
      job.integration_id, job.attempts, outcome.attempt.outcome, outcome.attempt.http_status, outcome.status,
      outcome.attempt.duration_ms,
      log_value(outcome.attempt.error.empty() ? std::string_view("-") : outcome.attempt.error));
  attempts_[outcome_index(outcome.attempt.outcome)].fetch_add(1, std::memory_order_relaxed);
  if (outcome.status == "succeeded") {
    if (auto created = parse_timestamp_ns(job.created_at)) {
      delivery_seconds_.observe(static_cast<double>(now_ns() - *created) / 1e9);
    }
  }
  bool disables = !outcome.disable_integration.empty();
  std::string status = outcome.status, attempt_outcome = outcome.attempt.outcome, error = outcome.attempt.error;
  auto recorded = co_await store_.finish_attempt(std::move(outcome));
  if (recorded.is_ok()) {
    if (status == "dead") count_dead();
    live::publish(live_, live::Kind::job_updated, {.integration_id = job.integration_id},
                  [&] { return job_update_json(job, status, attempt_outcome, error); });
  }
  if (!recorded.is_ok()) {
    // The lease runs out and the job is attempted again.
    spdlog::error("msg=\"cannot record a job attempt\" job={} error={}", job.id,
                  log_value(recorded.status().message()));
  } else if (disables && recorded.value()) {
    // The store disabled the integration: new submissions must see it too.
    auto row = store_.get_integration(job.integration_id);
    if (row.is_ok()) integrations_.put(row.value());
  }
}

asio::awaitable<std::vector<TriggeredAction>> JobRunner::call_sync(
    std::vector<std::shared_ptr<const ActiveIntegration>> integrations, std::string type, std::string record_id,
    std::string payload) {
  std::vector<TriggeredAction> actions(integrations.size());
  std::vector<std::shared_ptr<const ActiveIntegration>> plain_webhooks;
  std::vector<std::size_t> plain_at;
  for (std::size_t i = 0; i < integrations.size(); ++i) {
    if (integrations[i]->definition.type != "script" && !script_of(integrations[i]->definition)) {
      plain_webhooks.push_back(integrations[i]);
      plain_at.push_back(i);
    }
  }
  // Webhooks without a transform are called together; the others in turn.
  if (!plain_webhooks.empty()) {
    std::vector<TriggeredAction> called =
        co_await call_sync_webhooks(sync_fetcher_, std::move(plain_webhooks), type, record_id, payload);
    for (std::size_t k = 0; k < called.size(); ++k) actions[plain_at[k]] = std::move(called[k]);
  }
  for (std::size_t i = 0; i < integrations.size(); ++i) {
    const IntegrationDefinition& definition = integrations[i]->definition;
    if (definition.type == "script") {
      actions[i] = co_await run_sync_script(sync_scripts_, sync_script_http_, *integrations[i], type, payload);
    } else if (const Script* transform = script_of(definition)) {
      actions[i] = co_await call_transformed_webhook(integrations[i], *transform, type, record_id, payload);
    }
  }
  co_return actions;
}

asio::awaitable<TriggeredAction> JobRunner::call_transformed_webhook(
    std::shared_ptr<const ActiveIntegration> integration, const Script& transform, std::string type,
    std::string record_id, const std::string& payload) {
  TriggeredAction action{integration->id, "", "sync", "failed", "", ""};
  TransformOutcome made;
  ScriptCall call{{}, {}, integration->id, type};
  auto ran = co_await sync_scripts_.run([&] { made = apply_transform(transform, payload, call); });
  if (ran != WorkerPool::Outcome::ran) {
    action.error = "the script runners are busy";
  } else if (!made.run.ok) {
    action.error = error_excerpt("the transform failed: " + made.run.error);
  } else if (made.skipped) {
    action.status = "skipped";
  } else {
    std::vector<std::shared_ptr<const ActiveIntegration>> one{std::move(integration)};
    auto called = co_await call_sync_webhooks(sync_fetcher_, std::move(one), std::move(type), std::move(record_id),
                                              std::move(made.payload));
    action = std::move(called.front());
  }
  co_return action;
}

asio::awaitable<void> JobRunner::transform_payloads(const ActiveIntegration& integration, std::vector<JobRow>& jobs,
                                                    std::vector<std::size_t>& to_deliver,
                                                    std::vector<AttemptOutcome>& outcomes) {
  const Script* transform = script_of(integration.definition);
  std::vector<std::size_t> still;
  for (std::size_t i : to_deliver) {
    JobRow& job = jobs[i];
    TransformOutcome made;
    ScriptCall call{{}, {}, integration.id, job.type};
    auto ran = co_await scripts_.run([&] { made = apply_transform(*transform, job.payload, call); });
    AttemptOutcome& outcome = outcomes[i];
    outcome.attempt.started_at = now_utc();
    outcome.attempt.log = attempt_log(made.run);
    if (ran == WorkerPool::Outcome::ran && made.run.ok && !made.skipped) {
      job.payload = std::move(made.payload);
      job.log_before = outcome.attempt.log;
      still.push_back(i);
      continue;
    }
    if (ran == WorkerPool::Outcome::ran && made.skipped) {
      outcome.attempt.outcome = "skipped";
      outcome.attempt.error = "the transform returned nil: nothing was sent";
      outcome.status = "cancelled";
      continue;
    }
    outcome.attempt.outcome = "failed";
    outcome.attempt.error = ran == WorkerPool::Outcome::ran ? error_excerpt("the transform failed: " + made.run.error)
                                                            : "the script runners are busy: tried again later";
    fail_or_bury(outcome, integration.definition.retry_schedule_s, job.attempts);
  }
  to_deliver = std::move(still);
}

asio::awaitable<std::optional<ScriptRun>> JobRunner::try_script(const ActiveIntegration& integration,
                                                                json::value record) {
  const Script* script = script_of(integration.definition);
  if (!script) co_return std::nullopt;
  const ScriptConfig* config = integration.definition.config_as<ScriptConfig>();
  ScriptCall call{config ? sync_script_http_ : ScriptHttp{},
                  config ? config->allowed_hosts : std::vector<std::string>{}, integration.id, "test"};
  co_return co_await run_on_script_runners(sync_scripts_, *script, record, std::move(call));
}

std::optional<AttemptOutcome> JobRunner::undeliverable(const ActiveIntegration* integration, JobRow& job) {
  AttemptOutcome outcome;
  outcome.status = "cancelled";
  outcome.attempt.outcome = "cancelled";
  if (!integration) {
    outcome.attempt.error = "the integration no longer exists";
  } else if (!integration->definition.enabled) {
    outcome.attempt.error = "the integration is disabled";
  } else if (!kinds_.contains(integration->definition.type)) {
    outcome.attempt.error = "this Daisy cannot deliver " + integration->definition.type + " integrations";
  } else if (job.callback_expired) {
    return std::nullopt;  // settled by its kind, without the payload
  } else if (Status rendered = render_payload(job); !rendered.is_ok()) {
    outcome.attempt.error = "cannot read the payload: " + rendered.message();
    if (rendered.code() != Status::Code::not_found) {
      outcome.attempt.outcome = "failed";
      fail_or_bury(outcome, integration->definition.retry_schedule_s, job.attempts);
    }
  } else {
    return std::nullopt;
  }
  return outcome;
}

Status JobRunner::render_payload(JobRow& job) {
  if (!job.refers_to_revision()) return Status::ok();
  auto payload = settings_.payload_of(job);
  if (!payload.is_ok()) return payload.status();
  job.payload = std::move(payload.value());
  return Status::ok();
}

}  // namespace daisy::jobs
