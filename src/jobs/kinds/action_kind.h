#pragma once
// One kind of integration, as the job runner sees it: how a due job (or a
// batch of them) is delivered, and how an attempt whose outcome never came is
// settled. The
// runner claims, retries and records attempts; it never names a kind, it
// finds the integration's in ActionKinds.
//
// Adding a kind: its files here (its config with the rules that read it, and
// a class implementing ActionKind) and one entry in kind_registry.cpp.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "jobs/integration_registry.h"
#include "net/fetcher.h"
#include "observability/metrics.h"
#include "script/script.h"
#include "store/form_store.h"
#include "store/job_store.h"
#include "util/worker_pool.h"

namespace daisy::jobs {

class ActionKind {
 public:
  virtual ~ActionKind() = default;
  // Delivers a due job (its payload rendered), on the runner's thread, and
  // says how the attempt ended and what the job becomes: succeeded; failed
  // and due again per the integration's schedule; dead; or awaiting a
  // callback.
  virtual boost::asio::awaitable<AttemptOutcome> deliver(const ActiveIntegration& integration, const JobRow& job) = 0;
  // The most due jobs of one integration this kind sends together (rows of a
  // sheet in one request, say); 1, the default: one job per delivery.
  virtual std::size_t max_batch() const { return 1; }
  // Delivers up to max_batch() due jobs of one integration together: one
  // outcome per job, in the jobs' order. By default, each job in turn.
  virtual boost::asio::awaitable<std::vector<AttemptOutcome>> deliver_batch(const ActiveIntegration& integration,
                                                                            const std::vector<JobRow>& jobs);
  // A job claimed again because its attempt's outcome did not come in time
  // (JobRow::callback_expired): that attempt's end, and the job's next state.
  virtual AttemptOutcome settle_unanswered(const ActiveIntegration& integration, const JobRow& job) = 0;
  // The kind's own counters (Prometheus text); any thread.
  virtual void render_metrics(std::string& out) const { (void)out; }
};

// A form as stored (FormStore::get_form); given by the wiring.
using FormOf = std::function<Result<FormRow>(std::string_view form_id)>;

// What the kinds deliver with; owned by the runner, alive as long as it.
struct ActionKindServices {
  boost::asio::io_context& io;  // the runner's: deliveries run on it
  JobStore& store;
  net::Fetcher& fetcher;  // outgoing HTTP at background priority
  bool allow_private_targets = false;
  const std::string& callback_base;  // where microservices call back (set before the runner starts)
  Histogram& attempt_seconds;        // one delivery request
  const FormOf& form_of;             // the form of a form's integration (its questions)
  WorkerPool& scripts;               // the script runners: Lua runs there, never on the runner's thread
  const ScriptHttp& script_http;     // ctx.http.request of async scripts (through `fetcher`)
};

// The integration's config as its kind reads it. The definition was read by
// the rules of the kind it names (kind_registry.cpp), so the type matches; a
// default config, which delivers nowhere, stands in should it not.
template <class Config>
const Config& config_of(const ActiveIntegration& integration) {
  static const Config none;
  const Config* config = integration.definition.config_as<Config>();
  return config ? *config : none;
}

// The end of an attempt whose outcome was never recorded, for a kind whose
// outcome comes with its request: failed, and due again per the schedule.
AttemptOutcome unrecorded_attempt_failed(const ActiveIntegration& integration, const JobRow& job);

// The record that a job awaits its outcome (a callback, a delivery status),
// written before its request goes out, so that an answer quicker than the
// request's own return is not lost; awaited until due_ms.
AttemptOutcome awaiting_from_now(const JobRow& job, const std::string& started_at, std::int64_t due_ms);

// An error text as attempts keep it: its first 500 bytes.
std::string error_excerpt(std::string_view text);

// By IntegrationDefinition::type; one of each kind in kind_registry.cpp.
using ActionKinds = std::unordered_map<std::string_view, std::unique_ptr<ActionKind>>;
ActionKinds make_action_kinds(const ActionKindServices& services);

}  // namespace daisy::jobs
