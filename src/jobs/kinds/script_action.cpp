#include "jobs/kinds/script_action.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "jobs/kinds/script_code.h"
#include "jobs/kinds/script_config.h"
#include "jobs/retry_policy.h"
#include "util/time.h"

namespace daisy::jobs {
namespace asio = boost::asio;
namespace json = boost::json;

asio::awaitable<std::optional<ScriptRun>> run_on_script_runners(WorkerPool& runners, const Script& script,
                                                                const json::value& record, ScriptCall call) {
  ScriptRun run;
  auto ran = co_await runners.run([&] { run = script.run(record, call); });
  if (ran != WorkerPool::Outcome::ran) co_return std::nullopt;
  co_return run;
}

asio::awaitable<AttemptOutcome> ScriptAction::deliver(const ActiveIntegration& integration, const JobRow& job) {
  const ScriptConfig& config = config_of<ScriptConfig>(integration);
  AttemptOutcome outcome;
  outcome.attempt.started_at = now_utc();
  json::error_code ec;
  json::value record = json::parse(job.payload, ec);
  std::optional<ScriptRun> run;
  if (!config.script) {
    outcome.attempt.error = "the integration has no compiled script";
  } else if (ec) {
    outcome.attempt.error = "the payload is not JSON";
  } else {
    ScriptCall call{services_.script_http, config.allowed_hosts, integration.id, job.type};
    run = co_await run_on_script_runners(services_.scripts, *config.script, record, std::move(call));
    if (!run) outcome.attempt.error = "the script runners are busy: tried again later";
  }
  if (run) {
    outcome.attempt.duration_ms = static_cast<std::int64_t>(run->ms);
    outcome.attempt.log = attempt_log(*run);
    services_.attempt_seconds.observe(run->ms / 1000);
    if (run->ok) {
      outcome.attempt.outcome = "succeeded";
      outcome.status = "succeeded";
      outcome.output = json::serialize(run->output);
      co_return outcome;
    }
    outcome.attempt.error = error_excerpt(run->error);
  }
  outcome.attempt.outcome = "failed";
  fail_or_bury(outcome, integration.definition.retry_schedule_s, job.attempts);
  co_return outcome;
}

AttemptOutcome ScriptAction::settle_unanswered(const ActiveIntegration& integration, const JobRow& job) {
  return unrecorded_attempt_failed(integration, job);
}

asio::awaitable<TriggeredAction> run_sync_script(WorkerPool& runners, const ScriptHttp& http,
                                                 const ActiveIntegration& integration, std::string trigger,
                                                 const std::string& payload) {
  TriggeredAction action{integration.id, "", "sync", "failed", "", ""};
  const auto* config = integration.definition.config_as<ScriptConfig>();
  json::error_code ec;
  json::value record = json::parse(payload, ec);
  if (!config || !config->script || ec) {
    action.error = "the script cannot run on this record";
    co_return action;
  }
  ScriptCall call{http, config->allowed_hosts, integration.id, std::move(trigger)};
  // Here, on the submission's I/O thread, when it is short; else on a runner.
  auto run = config->script->run_quickly(record, call);
  if (!run) run = co_await run_on_script_runners(runners, *config->script, record, std::move(call));
  if (!run) {
    action.error = "the script runners are busy";
  } else if (!run->ok) {
    action.status = run->error.find("time budget") != std::string::npos ? "timeout" : "failed";
    action.error = error_excerpt(run->error);
  } else {
    action.status = "succeeded";
    action.output = json::serialize(run->output);
  }
  co_return action;
}

}  // namespace daisy::jobs
