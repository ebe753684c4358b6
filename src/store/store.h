#pragma once
// The storage interface every backend fulfils (SqliteStore, PostgresStore).
// Nothing above this interface knows which database is underneath.
//
// Contract:
// - Writes are asynchronous and complete only after their transaction has
//   committed durably; the caller's coroutine resumes on its own executor.
//   Concurrent writes may share one transaction (group commit); each write
//   succeeds or fails on its own.
// - Reads are synchronous, indexed and bounded by a limit, so they are cheap
//   enough to run on an I/O thread.
// - Status::unavailable means "try again later" (answered as 503).

#include <boost/asio/awaitable.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/app.h"
#include "domain/app_token.h"
#include "store/status.h"
#include "util/crypto.h"

namespace daisy {

// A form as stored: the definition is JSON text (FormDefinition::to_json).
struct FormRow {
  std::string id;
  int version = 1;
  std::string definition;
  std::string created_at;
  std::string updated_at;
  std::string archived_at;  // empty while active
};

// A response as stored; JSON fields are text.
struct ResponseRow {
  std::int64_t seq = 0;  // arrival order
  std::string id;
  std::string form_id;
  int form_version = 1;
  std::string status;
  std::string answers;   // JSON object
  std::string metadata;  // JSON object
  std::string checks;    // JSON array
  std::string submitted_at;
  std::string received_at;
  std::string updated_at;
  int revision = 1;
  std::string app_id;  // empty for the admin
};

struct RevisionRow {
  int revision = 1;
  int form_version = 1;
  std::string status;
  std::string answers;
  std::string checks;
  std::string created_at;
};

struct ResponseFilter {
  std::string status;        // empty: any
  std::string since, until;  // received_at bounds (inclusive, exclusive); empty: none
  std::int64_t after_seq = 0;
  std::size_t limit = 50;
};

// What happened to a submission with an idempotency key.
enum class SubmitOutcome {
  stored,        // a new response
  replayed,      // the key was seen before with the same body: the original is returned
  key_mismatch,  // the key was seen before with a different body
};

struct Page {
  std::size_t limit = 50;
  std::string after;  // exclusive cursor: the last id of the previous page
};

// An accepted event as stored. Times are nanoseconds since the epoch, UTC.
struct EventRow {
  std::int64_t seq = 0;  // arrival order; set by reads
  std::string id;
  std::string app_id;
  std::string session_id;
  std::string category;
  std::string name;
  std::int64_t ts_ns = 0;
  std::string data;  // JSON object
  std::int64_t received_ns = 0;
};

// A rejected event, kept for monitoring.
struct RejectionRow {
  std::int64_t seq = 0;
  std::string app_id;
  std::int64_t received_ns = 0;
  std::string reason;   // as counted in /metrics
  std::string errors;   // JSON array of {"field","message"}
  std::string payload;  // the raw event, capped
  bool truncated = false;
};

// An integration as stored: its definition is the JSON of
// IntegrationDefinition::to_json.
struct IntegrationRow {
  std::string id, source_id, definition;
  std::string secret, previous_secret, previous_until;  // webhook signing secrets
  std::string disabled_reason;                          // set when Daisy disabled it
  std::string created_at, updated_at;
};

// A job: one delivery of one trigger to one integration. status is one of
// pending, running, awaiting_callback, succeeded, failed, dead, cancelled.
struct JobRow {
  std::int64_t seq = 0;
  std::string id, integration_id, source_id, type;
  std::string payload;  // JSON snapshot of the response or event
  // > 0 with an empty payload: the payload is this revision of the response
  // source_id, kept by the store (Store::get_response_revision).
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
};

struct JobAttemptRow {
  int number = 0;
  std::string started_at;
  std::int64_t duration_ms = 0;
  std::string outcome;  // succeeded, failed, timeout, refused, ...
  int http_status = 0;  // 0: no HTTP response
  std::string error;
};

// The end of one attempt: the attempt's record and the job's next state.
struct AttemptOutcome {
  std::string job_id;
  int attempt_number = 0;  // the job's attempts when it was claimed; a stale outcome is ignored
  std::string from_status = "running";  // the job must still be in this state, else the outcome is ignored
  JobAttemptRow attempt;   // replaces the attempt's record if there is one (a callback ends a publish's attempt)
  std::string status;      // the job's new status
  std::int64_t due_ms = 0;  // when a failed job is retried, or when an awaited callback is late
  std::string disable_integration;  // not empty: disable the integration, for this reason
  std::string output;               // JSON reported by a callback
  std::string callback_token_hash;  // set when the job now awaits a callback
};

struct JobFilter {
  std::string status, integration_id, source_id;  // empty: any
  std::int64_t after_seq = 0;
  std::size_t limit = 50;
};

// What one ingest request writes, in one transaction.
struct EventBatch {
  std::vector<EventRow> events;
  std::vector<RejectionRow> rejections;
  std::vector<JobRow> jobs;  // for the integrations the events trigger
  std::size_t rejection_cap = 100000;  // rows kept; the oldest beyond it are dropped
};

// Filters of an event query; empty strings and nullopts mean "any". Results
// are ordered by (ts, seq), starting after the cursor (after_ts, after_seq).
struct EventFilter {
  std::string session_id, category, name, app_id;
  std::optional<std::int64_t> since_ns, until_ns;  // inclusive, exclusive
  std::optional<std::pair<std::int64_t, std::int64_t>> after;  // (ts, seq)
  std::size_t limit = 100;
};

struct SessionSummary {
  std::int64_t count = 0;
  std::int64_t first_ns = 0, last_ns = 0;
};

struct RejectionFilter {
  std::string app_id;
  std::optional<std::int64_t> since_ns, until_ns;
  std::int64_t after_seq = 0;
  std::size_t limit = 100;
};

struct EventTypeKey {
  std::string category, name;
};

struct EventTypeRow {
  std::string category, name;
  std::string schema;  // JSON text
  std::string created_at, updated_at;
};

// A provider as stored. definition is the JSON of ProviderDefinition; the
// rest is pull state carried across restarts.
struct ProviderRow {
  std::string id, name, definition, created_at, updated_at;
  std::string etag, last_modified, cursor, last_sync_at;
};
// One pull's record.
struct SyncRow {
  std::int64_t seq = 0;
  std::string provider_id, started_at;
  std::int64_t duration_ms = 0;
  int http_status = 0;  // 0: no response
  std::int64_t seen = 0, added = 0, changed = 0, skipped = 0;
  std::string error;    // empty on success
  std::string trigger;  // schedule | manual | fresh
};
// A fever-xml plan as a pull delivers it.
struct PlanRow {
  std::string base_plan_id, plan_id, id;
  std::string title, sell_mode, starts_local, ends_local, min_price, max_price, attributes;
};
struct ItemRow {
  std::string provider_id, item_id, data;  // data: JSON text
  std::string first_seen_at, updated_at;
};
// Everything one pull writes, in one transaction: its plans or items, the
// provider's new pull state and the sync record. The store counts what was
// added and changed into sync.
struct PullWrite {
  std::string provider_id;
  // The provider's updated_at when the pull began: if the provider has been
  // changed since (another URL, perhaps), only the sync record is written.
  std::string definition_updated_at;
  std::vector<PlanRow> plans;
  std::vector<std::string> online_base_plans;  // base plan ids seen with sell_mode="online"
  std::vector<ItemRow> items;
  bool success = false;  // when false only the sync record is written (also when sync.error is set:
                         // json pages read before a later page failed are kept)
  std::string etag, last_modified, cursor, synced_at;
  SyncRow sync;
};
// A plan that /search may return (its base plan was online at least once).
struct SearchablePlan {
  std::string id, title, starts_local, ends_local, min_price, max_price;
};

// The states a job can be retried from, and cancelled from (Store::retry_job, cancel_job).
inline constexpr std::array<std::string_view, 3> job_states_retryable{"failed", "dead", "cancelled"};
inline constexpr std::array<std::string_view, 4> job_states_cancellable{"pending", "failed", "running",
                                                                        "awaiting_callback"};

class Store {
 public:
  virtual ~Store() = default;

  // Applies pending migrations; returns the versions applied.
  virtual Result<std::vector<int>> migrate() = 0;
  // At the start of `serve`: claims this process's node id among the nodes
  // sharing the store, for as long as it runs; conflict when a live process
  // holds it already (a data dir shared or copied). Nothing to claim when one
  // process owns the store alone.
  virtual Status claim_node() { return Status::ok(); }
  // True when the store answers a trivial query now.
  virtual bool ready() = 0;
  // Writes made since start, other than the job runner's (claims and
  // attempts): the job runner gives way while they come fast. 0 when unknown.
  virtual std::uint64_t request_writes() { return 0; }
  // Commits everything submitted so far and stops accepting writes.
  virtual void close() = 0;

  // Process-wide settings (for example the admin token's hash).
  virtual Result<std::optional<std::string>> get_setting(std::string_view key) = 0;
  virtual boost::asio::awaitable<Status> put_setting(std::string key, std::string value) = 0;
  // For start-up code that has no coroutine: blocks until committed.
  virtual Status put_setting_blocking(std::string key, std::string value) = 0;

  // Apps. Ids are UUIDv7, so listing by id lists by creation.
  virtual boost::asio::awaitable<Status> create_app(App app, Sha256 token_hash) = 0;
  virtual Result<std::vector<App>> list_apps(const Page& page) = 0;
  virtual Result<App> get_app(std::string_view id) = 0;  // not_found when absent or deleted
  virtual boost::asio::awaitable<Status> delete_app(std::string id) = 0;
  virtual boost::asio::awaitable<Status> set_app_token(std::string id, Sha256 token_hash) = 0;
  virtual Result<std::vector<AppToken>> app_tokens() = 0;  // live apps only
  // policy: "accept" or "reject" (checked by the caller).
  virtual boost::asio::awaitable<Status> set_unknown_event_types(std::string id, std::string policy) = 0;
  virtual Result<std::vector<std::string>> apps_rejecting_unknown_event_types() = 0;

  // Forms. A new version also records the definition in the version history.
  virtual boost::asio::awaitable<Status> create_form(FormRow form) = 0;
  virtual Result<std::vector<FormRow>> list_forms(const Page& page) = 0;
  virtual Result<FormRow> get_form(std::string_view id) = 0;  // archived ones too
  // Replaces the form's definition. When new_version, form.version must be the
  // stored version + 1 (else conflict: a concurrent change won).
  virtual boost::asio::awaitable<Status> update_form(FormRow form, bool new_version) = 0;
  virtual boost::asio::awaitable<Status> archive_form(std::string id, std::string archived_at) = 0;

  // Responses. With an idempotency key, at most one response is ever stored
  // per (form, key): on a repeat, row is replaced by the stored one. The jobs
  // are stored with the response, in its transaction, only when it is new.
  virtual boost::asio::awaitable<Result<SubmitOutcome>> insert_response(
      std::shared_ptr<ResponseRow> row, std::string idempotency_key, std::string request_hash,
      std::vector<JobRow> jobs) = 0;
  // The response stored under an idempotency key, with the hash of the request
  // that stored it; nullopt when the key is unused on this form.
  virtual Result<std::optional<std::pair<ResponseRow, std::string>>> find_by_idempotency_key(
      std::string_view form_id, std::string_view key) = 0;
  virtual Result<ResponseRow> get_response(std::string_view form_id, std::string_view id) = 0;
  virtual Result<std::vector<ResponseRow>> list_responses(std::string_view form_id,
                                                          const ResponseFilter& filter) = 0;
  // Stores a correction as the next revision; row.revision is set to it. The
  // jobs are stored in the same transaction.
  virtual boost::asio::awaitable<Status> revise_response(std::shared_ptr<ResponseRow> row,
                                                         std::vector<JobRow> jobs) = 0;
  virtual Result<std::vector<RevisionRow>> list_revisions(std::string_view response_id) = 0;
  // The response as it was at `revision` (its JSON then: a job's payload).
  virtual Result<ResponseRow> get_response_revision(std::string_view id, int revision) = 0;

  // Events. The batch's rows are written in one transaction (shared with other
  // writes by group commit); rejections beyond the cap are dropped, oldest first.
  virtual boost::asio::awaitable<Status> insert_events(std::shared_ptr<const EventBatch> batch) = 0;
  virtual Result<std::vector<EventRow>> list_events(const EventFilter& filter) = 0;
  // Count and time span of a session's events (of one app when app_id is set);
  // not_found when it has none.
  virtual Result<SessionSummary> session_summary(std::string_view session_id, std::string_view app_id) = 0;
  virtual Result<std::vector<RejectionRow>> list_rejections(const RejectionFilter& filter) = 0;

  // Event types, keyed by (category, name).
  virtual Result<std::vector<EventTypeRow>> list_event_types() = 0;
  // A page of them in (category, name) byte order: the first `limit` after
  // the key (category, name), or from the start when `after` is null.
  virtual Result<std::vector<EventTypeRow>> list_event_types(const EventTypeKey* after, std::size_t limit) = 0;
  virtual Result<EventTypeRow> get_event_type(std::string_view category, std::string_view name) = 0;
  // Creates or replaces; returns true when it was created.
  virtual boost::asio::awaitable<Result<bool>> put_event_type(EventTypeRow row) = 0;
  virtual boost::asio::awaitable<Status> delete_event_type(std::string category, std::string name) = 0;

  // Providers. Names are unique (conflict). Deleting one deletes what it pulled.
  virtual boost::asio::awaitable<Status> create_provider(ProviderRow row) = 0;
  virtual Result<std::vector<ProviderRow>> list_providers(const Page& page) = 0;  // by id
  virtual Result<ProviderRow> get_provider(std::string_view id) = 0;
  // Replaces name, definition, updated_at and the pull state (etag,
  // last_modified, cursor: cleared by the caller when the source changed).
  virtual boost::asio::awaitable<Status> update_provider(ProviderRow row) = 0;
  virtual boost::asio::awaitable<Status> delete_provider(std::string id) = 0;
  // Writes a pull's results; returns the sync record as stored (with its counts).
  virtual boost::asio::awaitable<Result<SyncRow>> store_pull(std::shared_ptr<PullWrite> pull) = 0;
  // Newest first, before the cursor (0: from the newest).
  virtual Result<std::vector<SyncRow>> list_syncs(std::string_view provider_id, std::int64_t before_seq,
                                                  std::size_t limit) = 0;
  virtual Result<std::vector<SearchablePlan>> searchable_plans(std::string_view provider_id) = 0;
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
  // Jobs. Takes up to `limit` jobs that are due at now_ms (pending, failed, or
  // running with an expired lease), marks them running with a lease until
  // now_ms + lease_ms and counts the attempt; returns them.
  virtual boost::asio::awaitable<Result<std::vector<JobRow>>> claim_jobs(std::int64_t now_ms, std::int64_t lease_ms,
                                                                          std::size_t limit) = 0;
  // At start-up of a store that one process runs alone (SQLite): the jobs left
  // running by the previous process are due now, without waiting for their
  // leases to expire.
  virtual boost::asio::awaitable<Status> requeue_running_jobs(std::int64_t now_ms) = 0;
  // Records an attempt's end; ignored (and false) when the job has moved on
  // since (cancelled, or claimed again after its lease expired, or called back
  // already).
  virtual boost::asio::awaitable<Result<bool>> finish_attempt(AttemptOutcome outcome) = 0;
  // Commits file their jobs lazily (SQLite: through an outbox the claims
  // empty). This files every job acknowledged so far; list_jobs and get_job
  // see a job once this has run after its commit.
  virtual boost::asio::awaitable<Status> file_pending_jobs() = 0;
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

  // Several nodes on one database (PostgreSQL). Nodes keep some state in
  // memory (app tokens, forms, event types, integrations, providers, the
  // search index); every change of such state bumps a version per kind
  // ("apps", "forms", "event_types", "integrations", "providers", and
  // "pulls:<provider id>" after each pull), so that nodes notice the changes
  // made through the others by polling. Empty for a store that one process
  // owns alone (SQLite): its memory is always current.
  virtual Result<std::vector<std::pair<std::string, std::int64_t>>> change_versions() {
    return std::vector<std::pair<std::string, std::int64_t>>{};
  }
  // Takes (or renews) the named lease for holder until now_ms + ttl_ms; false
  // when another holder's lease has not expired. Always true for a store one
  // process owns alone.
  virtual boost::asio::awaitable<Result<bool>> try_lease(std::string name, std::string holder, std::int64_t now_ms,
                                                        std::int64_t ttl_ms);

  // Items of one provider after item_id `after`, in item_id order.
  virtual Result<std::vector<ItemRow>> list_items(std::string_view provider_id, std::string_view after,
                                                  std::size_t limit) = 0;
};

inline boost::asio::awaitable<Result<bool>> Store::try_lease(std::string, std::string, std::int64_t, std::int64_t) {
  co_return true;
}

}  // namespace daisy
