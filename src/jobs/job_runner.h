#pragma once
// Carries out the jobs: takes the due ones from the store (with a lease, so
// that a job held by a process that died is taken up again), delivers each as
// a coroutine on the runner's own io_context thread (many at once, none
// holding a thread while it waits on the network) through its integration's
// kind (jobs/kinds/), and records every attempt and the job's next state:
// succeeded, failed (retried later, per the integration's schedule), dead, or
// awaiting a callback.
//
// Delivery is at least once: a process killed between a delivery and its
// record delivers that job again after restart (same webhook-id).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "jobs/integration_registry.h"
#include "jobs/kinds/action_kind.h"
#include "net/fetcher.h"
#include "observability/metrics.h"
#include "store/job_store.h"
#include "util/worker_pool.h"

namespace daisy::live {
class LiveBus;
}

namespace daisy::jobs {

// A job's payload, rendered when the job holds a reference instead
// (JobRow::revision); given by the wiring, which knows the records' JSON.
using PayloadOf = std::function<Result<std::string>(const JobRow&)>;

struct JobRunnerSettings {
  bool allow_private_targets = false;    // webhooks may reach internal addresses
  std::size_t max_in_flight = 256;       // deliveries at once, all integrations together
  std::chrono::milliseconds poll{1000};  // how often the store is asked for due jobs when nothing wakes the runner
  // Longer than any delivery: the longest timeout (120 s) after the longest
  // wait for an integration's rate limit (every claimed job queued behind one
  // limited to a request per second: 256 s).
  std::chrono::milliseconds lease{600000};
  // Collection comes first: while the request path writes faster than this
  // (submissions, events, corrections...), the runner claims at most once per
  // busy_claim_interval (up to 128 jobs), and the backlog drains when the load
  // eases. Measured on 2 cores shared with the load: deliveries at full speed
  // during a saturating submit load halve its rate (docs/benchmarks.md).
  double busy_request_writes_per_s = 20000;
  unsigned script_threads = 4;  // script runners of each pool, jobs' and sync runs' (an HTTP call holds one)
  std::chrono::milliseconds busy_claim_interval{1000};
  PayloadOf payload_of;  // required
  FormOf form_of;        // required
};

class JobRunner {
 public:
  JobRunner(JobStore& store, IntegrationRegistry& integrations, JobRunnerSettings settings);
  ~JobRunner();  // stop()
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  void start();
  // Abandons deliveries in progress: their leases expire and they run again.
  void stop();
  // New jobs may be due: look now instead of at the next poll. Any thread.
  void wake();
  // The queue by status, attempts by outcome, delivery times (Prometheus text).
  void render_metrics(std::string& out) const;
  // A job ended dead outside the runner (a redis microservice's last failed
  // callback): counted with those the runner buries. Any thread.
  void count_dead() { dead_.fetch_add(1, std::memory_order_relaxed); }
  // Runs these sync integrations for a record that was just stored (webhooks
  // called at once, each by its timeout; scripts on the script runners, one
  // after the other) and returns what each answered, in their order; nothing
  // is retried or kept. Resumes on the caller's executor.
  boost::asio::awaitable<std::vector<TriggeredAction>> call_sync(
      std::vector<std::shared_ptr<const ActiveIntegration>> integrations, std::string type, std::string record_id,
      std::string payload);
  // Runs an integration's script (or transform) on a sample record, keeping
  // nothing: its output, log and cost. nullopt when the integration has no
  // code, or the script runners were too busy.
  boost::asio::awaitable<std::optional<ScriptRun>> try_script(const ActiveIntegration& integration,
                                                              boost::json::value record);
  // Where microservices call back (redis integrations): this server's base
  // URL, e.g. http://daisy.example.org:8080. Set before start().
  void set_callback_base(std::string base_url) { callback_base_ = std::move(base_url); }
  // Where each recorded attempt is announced (job.updated); set before start().
  void set_live(live::LiveBus* live) { live_ = live; }
  // That URL (status callbacks check their signatures against it).
  const std::string& callback_base() const { return callback_base_; }

 private:
  boost::asio::awaitable<void> loop();
  // Delivers jobs of one integration (group_for_delivery: one job, or a
  // batch for a kind that sends several at once) and records each attempt.
  boost::asio::awaitable<void> run_delivery(std::vector<JobRow> jobs);
  // The integration of a job about to run, asking the store when this node's
  // registry has it missing or disabled.
  std::shared_ptr<const ActiveIntegration> integration_for(const std::string& integration_id);
  // How many jobs of this integration its kind delivers at once (1 when unknown).
  std::size_t max_batch_of(std::string_view integration_id) const;
  // Logs and counts an attempt's end, records it, and frees the job's place.
  boost::asio::awaitable<void> record_attempt(const JobRow& job, AttemptOutcome outcome);
  // The attempt's outcome, when the job cannot be delivered (its integration
  // is gone or disabled, its payload unreadable, its kind unknown here).
  std::optional<AttemptOutcome> undeliverable(const ActiveIntegration* integration, JobRow& job);
  // Counts the queue by status for /metrics, every second.
  boost::asio::awaitable<void> count_queue();
  // Fills job.payload when the job refers to a record's revision.
  Status render_payload(JobRow& job);
  // Replaces the payloads of jobs[i] (i in to_deliver) by what the
  // integration's transform makes of them; a job whose transform failed or
  // skipped it gets its outcome instead and leaves to_deliver.
  boost::asio::awaitable<void> transform_payloads(const ActiveIntegration& integration, std::vector<JobRow>& jobs,
                                                  std::vector<std::size_t>& to_deliver,
                                                  std::vector<AttemptOutcome>& outcomes);
  // A sync webhook with a transform: the transform, then the call.
  boost::asio::awaitable<TriggeredAction> call_transformed_webhook(std::shared_ptr<const ActiveIntegration> integration,
                                                                   const Script& transform, std::string type,
                                                                   std::string record_id, const std::string& payload);
  // Whether the request path writes fast enough that claims should give way.
  bool request_path_busy();
  // Every third of a lease, moves on the leases of the jobs still held, so
  // that no delivery outlasts its lease and runs twice (JobStore::extend_leases).
  boost::asio::awaitable<void> keep_leases();

  JobStore& store_;
  IntegrationRegistry& integrations_;
  live::LiveBus* live_ = nullptr;
  JobRunnerSettings settings_;
  boost::asio::io_context io_;
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer queue_timer_;
  boost::asio::steady_timer lease_timer_;
  // After io_: destroyed first, so that no transfer completes into a destroyed io_context.
  net::Fetcher fetcher_;       // async deliveries, at a lower priority
  net::Fetcher sync_fetcher_;  // sync calls: part of a submission's request
  // After the fetchers: its threads stop (running what is queued) before them.
  WorkerPool scripts_;       // the script runners of jobs (scripts, transforms), at nice 10
  WorkerPool sync_scripts_;  // those of sync runs and /test, at normal priority
  ScriptHttp script_http_, sync_script_http_;
  std::string callback_base_;
  std::atomic<bool> woken_{false};     // new jobs, or a free place, since the last claim began
  std::atomic<bool> sleeping_{false};  // idle until the next poll: a wake interrupts it
  // Runner thread only: the request path's write rate, sampled.
  bool busy_ = false;
  std::chrono::steady_clock::time_point sampled_at_{}, last_claim_{};
  std::uint64_t sampled_writes_ = 0;
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::uint64_t> dead_{0};  // jobs ended dead through this node
  // Runner thread only: the jobs claimed and not yet recorded, seq -> attempt.
  std::unordered_map<std::int64_t, int> held_;
  // The queue's last count, in JobStore::count_open_jobs's order of statuses.
  static constexpr std::array<std::string_view, 4> queue_statuses{"pending", "running", "awaiting_callback", "failed"};
  std::array<std::atomic<std::int64_t>, 4> queue_{};
  std::atomic<bool> queue_counted_{false};
  // Attempts ended, by outcome (see outcome_index).
  std::array<std::atomic<std::uint64_t>, 7> attempts_{};
  Histogram attempt_seconds_;   // one delivery request
  Histogram delivery_seconds_;  // from the job's creation to its success
  // After what they deliver with (io_, fetcher_, callback_base_, attempt_seconds_): destroyed before it.
  ActionKinds kinds_;
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};

}  // namespace daisy::jobs
