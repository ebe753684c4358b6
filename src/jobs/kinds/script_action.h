#pragma once
// Script integrations: each job runs the integration's Lua `run(record, ctx)`
// on a script runner thread (ActionKindServices::scripts); what it returns
// is the job's output, its ctx.log lines the attempt's log. An error or a
// budget that ran out fails the attempt with the message (and its line), and
// the job is retried per the schedule.
//
// Sync scripts run within the request that stored the record
// (JobRunner::call_sync), by run_sync_script.

#include <boost/asio/awaitable.hpp>

#include "jobs/kinds/action_kind.h"

namespace daisy::jobs {

class ScriptAction final : public ActionKind {
 public:
  explicit ScriptAction(const ActionKindServices& services) : services_(services) {}
  boost::asio::awaitable<AttemptOutcome> deliver(const ActiveIntegration& integration, const JobRow& job) override;
  // A script's outcome is known when its run ends; an attempt that never
  // recorded one (the process died) counts as failed.
  AttemptOutcome settle_unanswered(const ActiveIntegration& integration, const JobRow& job) override;

 private:
  ActionKindServices services_;
};

// Runs an integration's script or transform on `record` on the script
// runners, with `http` for ctx.http.request; nullopt when the runners were
// too busy to take it. Resumes on the caller's executor.
boost::asio::awaitable<std::optional<ScriptRun>> run_on_script_runners(WorkerPool& runners, const Script& script,
                                                                       const boost::json::value& record,
                                                                       ScriptCall call);

// A sync script integration's action for a record just stored: run on the
// caller's thread when it fits Script::run_quickly's slice, else on `runners`.
boost::asio::awaitable<TriggeredAction> run_sync_script(WorkerPool& runners, const ScriptHttp& http,
                                                        const ActiveIntegration& integration, std::string trigger,
                                                        const std::string& payload);

}  // namespace daisy::jobs
