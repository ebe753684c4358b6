#pragma once
// The store of actions: integrations and the jobs that deliver records to
// them, with every attempt. Responses and events write their jobs in their
// own transactions (FormStore, EventStore); the job runner claims, records
// and ends them here. The contract of every store interface is in
// store/store.h.

#include <boost/asio/awaitable.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/page.h"
#include "store/status.h"

namespace daisy {

// An integration as stored: its definition is the JSON of
// IntegrationDefinition::to_json.
struct IntegrationRow {
  std::string id, source_id, definition;
  std::string secret, previous_secret, previous_until;  // webhook signing secrets
  std::string disabled_reason;                          // set when Daisy disabled it
  std::string created_at, updated_at;
  std::string last_error{};  // its deliveries' latest error, until one succeeds; '' when none (read only)
};

// A job: one delivery of one trigger to one integration. status is one of
// pending, running, awaiting_callback, succeeded, failed, dead, cancelled.
struct JobRow {
  std::int64_t seq = 0;
  std::string id, integration_id, source_id, type;
  std::string payload;  // JSON snapshot of the response or event
  // > 0 with an empty payload: the payload is this revision of the response
  // source_id, kept by the store (FormStore::get_response_revision).
  int revision = 0;
  bool refers_to_revision() const { return payload.empty() && revision > 0; }
  std::string status = "pending";
  int attempts = 0;
  std::int64_t due_ms = 0;  // when it is next taken (ms since the epoch)
  std::string last_error, created_at, updated_at;
  std::string output;               // JSON reported by a callback; "" when none
  std::string callback_token_hash;  // hex SHA-256, while awaiting_callback
  // Set by claim_jobs: the job was awaiting a callback that did not come in
  // time. Its attempt was not counted again: that attempt has failed.
  bool callback_expired = false;
  // Set by claim_jobs where the store paces integrations (PostgreSQL): the
  // turn the integration's max_per_second gives this job, in ms since the
  // epoch; it is sent no earlier. 0: at once.
  std::int64_t not_before_ms = 0;
  // Set by the runner, never stored with the job: what ran before this
  // delivery (a transform) logged, for the attempt's log.
  std::string log_before;
};

struct JobAttemptRow {
  int number = 0;
  std::string started_at;
  std::int64_t duration_ms = 0;
  std::string outcome;  // succeeded, failed, timeout, refused, ...
  int http_status = 0;  // 0: no HTTP response
  std::string error;
  std::string log;  // a script's ctx.log lines, each ending in '\n'; '' for other kinds
};

// The end of one attempt: the attempt's record and the job's next state.
struct AttemptOutcome {
  std::string job_id;
  int attempt_number = 0;               // the job's attempts when it was claimed; a stale outcome is ignored
  std::string from_status = "running";  // the job must still be in this state, else the outcome is ignored
  JobAttemptRow attempt;    // replaces the attempt's record if there is one (a callback ends a publish's attempt)
  std::string status;       // the job's new status
  std::int64_t due_ms = 0;  // when a failed job is retried, or when an awaited callback is late
  std::string disable_integration;  // not empty: disable the integration, for this reason
  // Set: the integration's last_error becomes this ("" clears it).
  std::optional<std::string> integration_error{};
  std::string output;               // JSON reported by a callback
  std::string callback_token_hash;  // set when the job now awaits a callback
  // How the receiver fared, for its integration's back-off (IntegrationPace):
  // failing (no answer, 5xx, 429), answering (any other status) or unknown.
  enum class Receiver { unknown, answering, failing } receiver = Receiver::unknown;
  std::int64_t retry_after_ms = 0;  // > 0: the receiver asked not to be called before then (ms since the epoch)
};

// A receiver's back-off, where the store paces integrations (PostgreSQL:
// shared by every node). While it is paused, none of its integration's jobs is
// claimed, by any node. From its third failure in a row it is on trial: one
// job at a time until one is answered. Each failure on trial after a pause
// pauses it again, 1 s, then twice as long each time, up to 5 minutes; a
// Retry-After it sent is honoured (up to an hour). Failures of requests that
// were in flight when a pause began do not lengthen it.
struct ReceiverBackOff {
  int failures = 0;  // in a row
  int pauses = 0;    // since it last answered
  std::int64_t paused_until_ms = 0;
};
inline constexpr int receiver_failures_before_trial = 3;
// The back-off after one more failure at now_ms; retry_after_ms: when the
// receiver asked to be called again (0: it did not ask).
ReceiverBackOff after_receiver_failure(ReceiverBackOff back_off, std::int64_t retry_after_ms, std::int64_t now_ms);

struct JobFilter {
  std::string status, integration_id, source_id;  // empty: any
  std::int64_t after_seq = 0;
  std::size_t limit = 50;
};

// The states a job can be retried from, and cancelled from (JobStore::retry_job, cancel_job).
inline constexpr std::array<std::string_view, 3> job_states_retryable{"failed", "dead", "cancelled"};
inline constexpr std::array<std::string_view, 4> job_states_cancellable{"pending", "failed", "running",
                                                                        "awaiting_callback"};

// The filters a listing was given, as (column, value): each becomes one
// equality condition, so that the planner can seek the index that starts
// with it (jobs_by_status, _by_integration, _by_source); a condition written
// "? = '' OR column = ?" made SQLite walk every job after the cursor.
std::vector<std::pair<std::string_view, const std::string*>> job_filter_conditions(const JobFilter& f);

// Rules every backend applies inside its transactions (job_store.cpp): the
// SQL around them differs, these decisions do not.
// ok when the job may move from its state (one of `from`); conflict naming its state otherwise.
Status check_job_transition(const JobRow& job, std::span<const std::string_view> from);
// The job once moved to `to`, due at due_ms, changed at `now`.
JobRow job_after_transition(JobRow job, std::string_view to, std::int64_t due_ms, std::string now);
// Whether an attempt's outcome is still the stored job's: false when the job
// has moved on since the claim (cancelled, claimed again after its lease ran
// out, called back already), and the outcome is then ignored.
bool outcome_applies(const JobRow& stored, const AttemptOutcome& outcome);

// A job a runner holds: claimed (its attempts-th attempt) and not finished.
struct HeldJob {
  std::int64_t seq = 0;
  int attempts = 0;
};

class JobStore {
 public:
  virtual ~JobStore() = default;

  // Integrations, listed by id (creation order).
  virtual boost::asio::awaitable<Status> create_integration(IntegrationRow row) = 0;
  virtual Result<std::vector<IntegrationRow>> list_integrations(const Page& page) = 0;
  virtual Result<IntegrationRow> get_integration(std::string_view id) = 0;
  // Replaces everything but id and created_at.
  virtual boost::asio::awaitable<Status> update_integration(IntegrationRow row) = 0;
  // Its jobs that have not ended are cancelled.
  virtual boost::asio::awaitable<Status> delete_integration(std::string id) = 0;

  // Jobs made outside a submission (a replay), in one transaction.
  virtual boost::asio::awaitable<Status> insert_jobs(std::vector<JobRow> jobs) = 0;
  // Takes up to `limit` jobs that are due at now_ms (pending, failed, or
  // running with an expired lease), marks them running with a lease until
  // now_ms + lease_ms and counts the attempt; returns them. On PostgreSQL the
  // claim also holds each integration's limits for all nodes together: no
  // more of its jobs running than max_in_flight, turns at max_per_second
  // (JobRow::not_before_ms, up to a second ahead), none while its receiver's
  // back-off lasts.
  virtual boost::asio::awaitable<Result<std::vector<JobRow>>> claim_jobs(std::int64_t now_ms, std::int64_t lease_ms,
                                                                         std::size_t limit) = 0;
  // At start-up of a store that one process runs alone (SQLite): the jobs left
  // running by the previous process are due now, without waiting for their
  // leases to expire.
  virtual boost::asio::awaitable<Status> requeue_running_jobs(std::int64_t now_ms) = 0;
  // Moves the leases of jobs still being delivered on to until_ms: each job
  // still running at that attempt (on PostgreSQL: leased by this node). A
  // delivery that outlasts a lease (a slow receiver, a long wait for a paced
  // turn) is then not claimed again and done twice while it runs. Jobs that
  // moved on (cancelled, finished) are left alone.
  virtual boost::asio::awaitable<Status> extend_leases(std::vector<HeldJob> held, std::int64_t until_ms) = 0;
  // Records an attempt's end; ignored (and false) when the job has moved on
  // since (cancelled, or claimed again after its lease expired, or called back
  // already). Where the store paces integrations, the outcome's receiver
  // state also counts towards the integration's back-off.
  virtual boost::asio::awaitable<Result<bool>> finish_attempt(AttemptOutcome outcome) = 0;
  // Commits file their jobs lazily (SQLite: through an outbox the claims
  // empty). This files the oldest `max_rows` outbox rows (each holds the jobs
  // of one record) committed so far, and answers how many it filed (0: none
  // was waiting; always 0 on a backend without an outbox). list_jobs and
  // get_job see a job once it is filed; a job filed gets a seq above every
  // job filed before it, so a listing by seq that follows its cursor never
  // skips one.
  virtual boost::asio::awaitable<Result<std::size_t>> file_pending_jobs(std::size_t max_rows) = 0;
  virtual Result<std::vector<JobRow>> list_jobs(const JobFilter& filter) = 0;
  // Every job of one record, filed or not, without filing anything (for the
  // reply to a repeated submission).
  virtual Result<std::vector<JobRow>> jobs_of_source(std::string_view source_id) = 0;
  virtual Result<JobRow> get_job(std::string_view id) = 0;
  virtual Result<std::vector<JobAttemptRow>> list_attempts(std::int64_t job_seq) = 0;
  // How many jobs are pending, running, awaiting_callback and failed (the queue).
  virtual Result<std::vector<std::pair<std::string, std::int64_t>>> count_open_jobs() = 0;
  // retry: a failed, dead or cancelled job (job_states_retryable) becomes
  // pending, due at now_ms. cancel: a pending, failed, running or
  // awaiting_callback job (job_states_cancellable) becomes cancelled.
  // conflict when the job is in another state; the job as it is now on success.
  virtual boost::asio::awaitable<Result<JobRow>> retry_job(std::string id, std::int64_t now_ms) = 0;
  virtual boost::asio::awaitable<Result<JobRow>> cancel_job(std::string id) = 0;

  // Where the store paces integrations (PostgreSQL): the back-off it keeps
  // for the integration's receiver; nullopt where none is kept.
  virtual Result<std::optional<ReceiverBackOff>> receiver_back_off(std::string_view integration_id) {
    (void)integration_id;
    return std::optional<ReceiverBackOff>{};
  }

  // Where the store paces integrations (PostgreSQL: for every node): takes
  // the integration's next request turn, interval_us after the last one
  // handed out and no earlier than now_us, and answers when it is (us since
  // the epoch). nullopt where no turns are kept: the caller paces alone.
  virtual boost::asio::awaitable<Result<std::optional<std::int64_t>>> take_request_turn(std::string integration_id,
                                                                                        std::int64_t interval_us,
                                                                                        std::int64_t now_us) {
    (void)integration_id, (void)interval_us, (void)now_us;
    co_return std::optional<std::int64_t>{};
  }

  // Writes made since start, other than the job runner's (claims and
  // attempts): the job runner gives way while they come fast. 0 when unknown.
  virtual std::uint64_t request_writes() { return 0; }
};

}  // namespace daisy
