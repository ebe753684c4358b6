#pragma once
// The embedded backend: one SQLite database file in WAL mode, one group-commit
// writer thread, and a pool of read-only connections for readers.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/sqlite/connection.h"
#include "store/sqlite/deferred_event_index.h"
#include "store/sqlite/group_writer.h"
#include "store/sqlite/wal_checkpointer.h"
#include "store/sqlite/wal_restart_gate.h"
#include "store/store.h"

namespace daisy {

struct SqliteOptions {
  std::string path;
  // FULL: an acknowledged write survives power loss. NORMAL: survives a crash
  // of the process (kill -9) but the last commits may be lost on power loss.
  bool synchronous_full = true;
  sqlite::DeferredIndexOptions event_index{};
  // Longest PRAGMA quick_check at start (damaged pages are refused; a larger
  // database than the budget covers is left to `daisy check`).
  std::chrono::milliseconds start_check_budget{2000};
  // Long scans (event listings) run in read transactions of about this long
  // each (see SqliteStore::list_events); tests shorten it to force many.
  std::chrono::microseconds scan_slice{20000};
};

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed) the database. Throws std::runtime_error when it cannot.
  SqliteStore(SqliteOptions options, Metrics* metrics);
  ~SqliteStore() override;

  Result<std::vector<int>> migrate() override;
  bool answers() override;
  bool writes_go_through() override;
  std::uint64_t request_writes() override {
    return writes_.load(std::memory_order_relaxed) - runner_writes_.load(std::memory_order_relaxed);
  }
  void close() override;

  Result<std::optional<std::string>> get_setting(std::string_view key) override;
  boost::asio::awaitable<Status> put_setting(std::string key, std::string value) override;
  Status put_setting_blocking(std::string key, std::string value) override;

  boost::asio::awaitable<Status> create_app(App app, Sha256 token_hash) override;
  Result<std::vector<App>> list_apps(const Page& page) override;
  Result<App> get_app(std::string_view id) override;
  boost::asio::awaitable<Status> delete_app(std::string id) override;
  boost::asio::awaitable<Status> set_app_token(std::string id, Sha256 token_hash) override;
  boost::asio::awaitable<Status> set_publishable_key(std::string id, std::string key) override;
  Result<std::vector<AppToken>> app_tokens() override;
  boost::asio::awaitable<Status> update_app_settings(App app) override;
  Result<std::vector<std::string>> apps_rejecting_unknown_event_types() override;

  boost::asio::awaitable<Status> create_form(FormRow form) override;
  Result<std::vector<FormRow>> list_forms(const Page& page) override;
  Result<FormRow> get_form(std::string_view id) override;
  boost::asio::awaitable<Status> update_form(FormRow form, bool new_version) override;
  boost::asio::awaitable<Status> archive_form(std::string id, std::string archived_at) override;
  Result<std::vector<FormRow>> list_form_versions(std::string_view form_id, int after_version,
                                                  std::size_t limit) override;

  boost::asio::awaitable<Result<SubmitOutcome>> insert_response(std::shared_ptr<ResponseRow> row,
                                                                std::string idempotency_key, std::string request_hash,
                                                                std::vector<JobRow> jobs) override;
  Result<std::optional<std::pair<ResponseRow, std::string>>> find_by_idempotency_key(std::string_view form_id,
                                                                                     std::string_view key) override;
  Result<ResponseRow> get_response(std::string_view form_id, std::string_view id) override;
  Result<ResponseRow> get_response_revision(std::string_view id, int revision) override;
  Result<std::vector<ResponseRow>> list_responses(std::string_view form_id, const ResponseFilter& filter) override;
  Result<std::vector<ResponseRow>> responses_updated_since(const ResponsesSince& query) override;
  boost::asio::awaitable<Status> revise_response(std::shared_ptr<ResponseRow> row, std::vector<JobRow> jobs) override;
  Result<std::vector<RevisionRow>> list_revisions(std::string_view response_id) override;

  boost::asio::awaitable<Status> insert_events(std::shared_ptr<const EventBatch> batch) override;
  Result<std::vector<EventRow>> list_events(const EventFilter& filter) override;
  Result<std::vector<EventRow>> events_received_since(const EventsSince& query) override;
  Result<SessionSummary> session_summary(std::string_view session_id, std::string_view app_id) override;
  Result<std::vector<RejectionRow>> list_rejections(const RejectionFilter& filter) override;
  Result<std::vector<EventTypeRow>> list_event_types() override;
  Result<std::vector<EventTypeRow>> list_event_types(const EventTypeKey* after, std::size_t limit) override;
  Result<EventTypeRow> get_event_type(std::string_view category, std::string_view name) override;
  boost::asio::awaitable<Result<bool>> put_event_type(EventTypeRow row) override;
  boost::asio::awaitable<Status> delete_event_type(std::string category, std::string name) override;

  boost::asio::awaitable<Status> create_provider(ProviderRow row) override;
  Result<std::vector<ProviderRow>> list_providers(const Page& page) override;
  Result<ProviderRow> get_provider(std::string_view id) override;
  boost::asio::awaitable<Status> update_provider(ProviderRow row) override;
  boost::asio::awaitable<Status> delete_provider(std::string id) override;
  boost::asio::awaitable<Result<SyncRow>> store_pull(std::shared_ptr<PullWrite> pull) override;
  Result<std::vector<SyncRow>> list_syncs(std::string_view provider_id, std::int64_t before_seq,
                                          std::size_t limit) override;
  Result<std::vector<SearchablePlan>> searchable_plans(std::string_view provider_id) override;
  Result<std::vector<ItemRow>> list_items(std::string_view provider_id, std::string_view after,
                                          std::size_t limit) override;

  boost::asio::awaitable<Status> create_integration(IntegrationRow row) override;
  Result<std::vector<IntegrationRow>> list_integrations(const Page& page) override;
  Result<IntegrationRow> get_integration(std::string_view id) override;
  boost::asio::awaitable<Status> update_integration(IntegrationRow row) override;
  boost::asio::awaitable<Status> delete_integration(std::string id) override;
  boost::asio::awaitable<Status> insert_jobs(std::vector<JobRow> jobs) override;
  boost::asio::awaitable<Result<std::size_t>> file_pending_jobs(std::size_t max_rows) override;
  Result<std::vector<JobRow>> jobs_of_source(std::string_view source_id) override;
  boost::asio::awaitable<Result<std::vector<JobRow>>> claim_jobs(std::int64_t now_ms, std::int64_t lease_ms,
                                                                 std::size_t limit) override;
  boost::asio::awaitable<Status> requeue_running_jobs(std::int64_t now_ms) override;
  boost::asio::awaitable<Status> extend_leases(std::vector<HeldJob> held, std::int64_t until_ms) override;
  boost::asio::awaitable<Result<bool>> finish_attempt(AttemptOutcome outcome) override;
  Result<std::vector<JobRow>> list_jobs(const JobFilter& filter) override;
  Result<JobRow> get_job(std::string_view id) override;
  Result<std::vector<JobAttemptRow>> list_attempts(std::int64_t job_seq) override;
  Result<std::vector<std::pair<std::string, std::int64_t>>> count_open_jobs() override;
  boost::asio::awaitable<Result<JobRow>> retry_job(std::string id, std::int64_t now_ms) override;
  boost::asio::awaitable<Result<JobRow>> cancel_job(std::string id) override;

  boost::asio::awaitable<Result<ExpirySlice>> delete_expired(Expiring what, std::int64_t before_ms, std::int64_t after,
                                                             std::size_t limit) override;

 private:
  // A pooled read-only connection, returned to the pool when the lease ends.
  class ReaderLease {
   public:
    ReaderLease(SqliteStore& store, std::unique_ptr<sqlite::Connection> c) : store_(store), connection_(std::move(c)) {}
    ReaderLease(ReaderLease&&) = default;
    ~ReaderLease() {
      if (!connection_) return;
      std::lock_guard lock(store_.readers_mu_);
      store_.idle_readers_.push_back(std::move(connection_));
    }
    sqlite::Connection& operator*() { return *connection_; }
    sqlite::Connection* operator->() { return connection_.get(); }

   private:
    SqliteStore& store_;
    std::unique_ptr<sqlite::Connection> connection_;
  };

  ReaderLease reader();
  // Makes every commit so far durable (on the group writer's sync thread).
  bool sync_wal();
  // Files every job waiting in the outbox; file_job only when the job `id` is
  // not filed already (a backlog of a million takes seconds to file).
  boost::asio::awaitable<Status> file_all_pending_jobs();
  boost::asio::awaitable<Status> file_job(const std::string& id);
  // Runs work on the writer and resumes the caller after the commit.
  boost::asio::awaitable<Status> write(sqlite::GroupWriter::Work work,
                                       sqlite::GroupWriter::AfterCommit after_commit = {});

  SqliteOptions options_;
  int wal_fd_ = -1;                                        // used by the sync thread only
  sqlite::WalRestartGate wal_restart_gate_;                // before checkpointer_, which asks it
  std::unique_ptr<sqlite::WalCheckpointer> checkpointer_;  // before writer_: its WAL hook uses it
  sqlite::DeferredEventIndex event_index_;                 // before writer_: the writer's background work uses it
  // Committed session ids and their numbers, so that most events skip a
  // lookup in the sessions table. Writer thread only; emptied when full.
  static constexpr std::size_t max_known_sessions = 100'000;
  std::unordered_map<std::string, std::int64_t> session_numbers_;
  std::unique_ptr<sqlite::GroupWriter> writer_;
  std::atomic<std::uint64_t> writes_{0};         // every write()
  std::atomic<std::uint64_t> runner_writes_{0};  // claim_jobs and finish_attempt
  std::mutex readers_mu_;
  std::vector<std::unique_ptr<sqlite::Connection>> idle_readers_;
};

}  // namespace daisy
