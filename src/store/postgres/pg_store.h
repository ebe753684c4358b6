#pragma once
// The PostgreSQL backend, for several Daisy nodes sharing one database: a
// pool of connections for reads, writer threads that commit writes in
// batches, and jobs claimed with FOR UPDATE SKIP LOCKED and a lease so that
// nodes share them. Every guarantee the Store interface states holds across
// nodes: uniqueness (idempotency keys, tokens, event types) is enforced by
// the database, not by a node's memory.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/postgres/pg_pool.h"
#include "store/postgres/pg_writer.h"
#include "store/store.h"

namespace daisy {

class Metrics;

struct PostgresOptions {
  std::string conninfo;  // a postgres:// URI or a libpq keyword string
  // This node's name: its claims record it, so that when it restarts it takes
  // up at once the jobs it held (requeue_running_jobs).
  std::string node_id;
  std::size_t writer_threads = 2;
  std::size_t max_readers = 16;
  // A read that runs longer is cancelled and answered as too costly.
  int read_timeout_ms = 2000;
};

class PostgresStore final : public Store {
 public:
  // Does not connect: the first read or write does (and reconnects later).
  PostgresStore(PostgresOptions options, Metrics* metrics);
  ~PostgresStore() override;

  Result<std::vector<int>> migrate() override;
  Status claim_node() override;
  Status keep_node_claim() override;
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

  // pg_forms.cpp
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

  // pg_events.cpp
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

  // pg_feeds.cpp
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

  // pg_jobs.cpp
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
  Result<std::optional<ReceiverBackOff>> receiver_back_off(std::string_view integration_id) override;
  boost::asio::awaitable<Result<std::optional<std::int64_t>>> take_request_turn(std::string integration_id,
                                                                                std::int64_t interval_us,
                                                                                std::int64_t now_us) override;
  Result<std::vector<JobAttemptRow>> list_attempts(std::int64_t job_seq) override;
  Result<std::vector<std::pair<std::string, std::int64_t>>> count_open_jobs() override;
  boost::asio::awaitable<Result<JobRow>> retry_job(std::string id, std::int64_t now_ms) override;
  boost::asio::awaitable<Result<JobRow>> cancel_job(std::string id) override;

  boost::asio::awaitable<Result<ExpirySlice>> delete_expired(Expiring what, std::int64_t before_ms, std::int64_t after,
                                                             std::size_t limit) override;

  // pg_cluster.cpp
  Result<std::vector<std::pair<std::string, std::int64_t>>> change_versions() override;
  boost::asio::awaitable<Result<bool>> try_lease(std::string name, std::string holder, std::int64_t now_ms,
                                                 std::int64_t ttl_ms) override;

 private:
  // Runs f(pg::Connection&) -> Result<T> on a pooled connection; unavailable
  // when none can be had.
  template <class F>
  auto read(F&& f) -> decltype(f(std::declval<pg::Connection&>())) {
    for (int attempt = 0;; ++attempt) {
      auto lease = readers_.acquire();
      if (!lease.is_ok()) return lease.status();
      auto result = f(*lease.value());
      // A pooled connection that the server dropped (it restarted) fails its
      // first read: a read is safe to run again, on a new connection.
      if (attempt == 0 && lease.value()->broken()) continue;
      return result;
    }
  }
  // Calls start with a Done that resumes the caller, on its own executor,
  // with the Status it is given.
  static boost::asio::awaitable<Status> completion(std::function<void(pg::Writer::Done)> start);
  // Runs work on a writer and resumes the caller after the commit.
  boost::asio::awaitable<Status> write(pg::Writer::Work work, bool by_runner = false);
  // A write that produces a T: work fills a fresh T on each run (a write may
  // run again after a rollback); the T once committed, or the failure.
  template <class T>
  boost::asio::awaitable<Result<T>> write_returning(std::function<Status(pg::Connection&, T&)> work,
                                                    bool by_runner = false) {
    auto out = std::make_shared<T>();
    pg::Writer::Work run = [out, work = std::move(work)](pg::Connection& db) {
      *out = T{};
      return work(db, *out);
    };
    Status status = co_await write(std::move(run), by_runner);
    if (!status.is_ok()) co_return status;
    co_return std::move(*out);
  }
  // Event batches waiting for a flush: the batches of concurrent requests
  // are written by one set of statements (pg_events.cpp).
  struct EventWrite {
    std::shared_ptr<const EventBatch> batch;
    pg::Writer::Done done;
  };
  void queue_events(EventWrite write);
  void submit_event_flush();

  PostgresOptions options_;
  pg::Pool readers_;
  std::unique_ptr<pg::Writer> writer_;
  // /readyz's own connection, so that a busy pool does not read as an outage.
  std::mutex health_mu_;
  std::unique_ptr<pg::Connection> health_;
  std::mutex events_mu_;
  std::vector<EventWrite> events_waiting_;
  bool events_flush_queued_ = false;
  // Holds the node id's advisory lock while this process runs (claim_node).
  std::unique_ptr<pg::Connection> node_lock_;
  std::atomic<std::uint64_t> writes_{0};         // every write()
  std::atomic<std::uint64_t> runner_writes_{0};  // claim_jobs and finish_attempt
};

// Inserts jobs (one multi-row INSERT); used by submissions, corrections,
// event batches and replays.
Status insert_job_rows(pg::Connection& db, const std::vector<JobRow>& jobs);
// The same for several lists at once (the event batches of one flush).
Status insert_job_rows(pg::Connection& db, const std::vector<const std::vector<JobRow>*>& lists);

}  // namespace daisy
