#pragma once
// The feeds subsystem: the providers in force, the scheduler that pulls each
// enabled one at its interval (with jitter, never twice at once, backing off
// while it fails), on-demand pulls shared by everyone who asks at the same
// time, and the in-memory search index those pulls keep current.
//
// Threads: pulls run as coroutines on the service's own io_context thread;
// parsing runs on a second thread, fetching on the Fetcher's. Nothing here
// runs on, or blocks, the HTTP I/O threads: handlers wait for a pull with a
// deadline and are resumed on their own executor.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "domain/provider.h"
#include "feeds/search_index.h"
#include "net/fetcher.h"
#include "store/cluster_store.h"
#include "store/feed_store.h"

namespace daisy::live {
class LiveBus;
}

namespace daisy::feeds {

struct JsonPage;

struct FeedSettings {
  // This node's name in leases: with several nodes on one database, a
  // scheduled pull runs only on the node that holds the provider's lease
  // (ClusterStore::try_lease), taken for one interval.
  std::string node_id;
  bool allow_private_targets = false;
  std::size_t max_response_bytes = 256u << 20;
  std::size_t max_pages = 100;  // json/daisy: pages followed per pull
};

// What a pull came to: the stored sync record, or why none could be stored.
struct PullResult {
  Status status;  // not ok: the record could not be written (the store failed)
  SyncRow sync;
  bool timed_out = false;  // it ended at the provider's timeout_ms (sync.error says so)
  bool ok() const { return status.is_ok() && sync.error.empty(); }
};

class FeedService {
 public:
  // leases: which node pulls a provider on schedule (the store itself, as a ClusterStore).
  FeedService(FeedStore& store, ClusterStore& leases, FeedSettings settings);
  ~FeedService();  // stops the scheduler and abandons pulls in progress

  // Loads the providers and the search index from the store and starts the
  // scheduler. False (with the reason logged) when the store cannot be read.
  bool start();
  void stop();
  // Where each finished pull is announced (sync.finished); set before start().
  void set_live(live::LiveBus* live) { live_ = live; }

  // After the store has changed a provider: take it (or its removal) into
  // account. A row this node just wrote never replaces a newer one (handlers
  // complete out of order); a row read back from the store (from_store)
  // replaces what is held whatever its updated_at (nodes' clocks differ).
  void provider_changed(const ProviderRow& row, bool from_store = false);
  void provider_removed(const std::string& id);
  // Another node changed providers: reads them all again and refreshes the
  // search index. False when the store fails.
  bool reload_providers();
  // Another node pulled this provider: takes its pull state (ETag, cursor,
  // last sync) from the store and refreshes its part of the search index.
  bool provider_pulled(const std::string& id);

  // Pulls providers now (all at once), each joining the pull already in
  // progress for it if there is one. Resumes the caller on its own executor
  // once every pull has ended or passed its deadline; a pull past its deadline
  // gives nullopt (and goes on in the background).
  struct PullAsk {
    std::string provider_id;
    std::optional<std::chrono::steady_clock::time_point> deadline;
  };
  boost::asio::awaitable<std::vector<std::optional<PullResult>>> pull(std::vector<PullAsk> asks, std::string trigger);

  const SearchIndex& search_index() const { return index_; }

  // Prometheus text: pulls by trigger and outcome, providers, searchable plans.
  void render_metrics(std::string& out) const;

  // The definition in force and the last successful pull time, by provider name.
  struct ProviderView {
    std::string id;
    ProviderDefinition definition;
    std::string last_sync_at;
  };
  std::optional<ProviderView> find_by_name(const std::string& name) const;

 private:
  struct Tracked;
  using Waiter = std::function<void(PullResult)>;

  void start_pull(const std::string& id, const std::string& trigger, Waiter waiter);
  boost::asio::awaitable<void> run_pull(std::string id, std::string trigger);
  boost::asio::awaitable<void> schedule_loop();
  // Updates row's pull state (ETag, cursor, last sync) when the pull succeeds.
  boost::asio::awaitable<PullResult> pull_once(ProviderRow& row, const ProviderDefinition& def, std::string trigger);
  // The steps of pull_once, each on the service's thread (parsing on the parse thread).
  struct Pull;        // one pull in progress: what it will write, and what its result needs besides
  struct JsonSource;  // where a json or daisy provider's pages come from, and how they are read
  // fever-xml: one fetch, conditional on the last pull's ETag and Last-Modified;
  // sets the sync's status and error, and the plans and validators to write
  // (the old validators when nothing new was read).
  boost::asio::awaitable<void> pull_fever_xml(const ProviderRow& row, const ProviderDefinition& def, Pull& pull);
  // json and daisy: follows pages from row's cursor until the provider has no
  // more or the pull's time, size or page budget runs out; sets the items and
  // the cursor to write (pages read before a later one fails are kept).
  boost::asio::awaitable<void> pull_json_pages(const ProviderRow& row, const ProviderDefinition& def, Pull& pull);
  // One page (page counts from 0), its body counted against bytes_left.
  // nullopt: the pull stops here; the sync's error says why, unless a page after
  // the first ran out of time or size (the next pull goes on from there).
  boost::asio::awaitable<std::optional<JsonPage>> read_json_page(net::FetchRequest request, std::size_t page,
                                                                 const JsonSource& source, std::size_t& bytes_left,
                                                                 Pull& pull);
  // Ends the sync record and writes the pull in one transaction (only the
  // record when it failed); on success row takes the new pull state and the
  // search index is refreshed. The result as pull_once gives it.
  boost::asio::awaitable<PullResult> write_pull(ProviderRow& row, Pull& pull);
  // Rebuilds one provider's part of the search index from the store, with the
  // definition in force now (a pull may have begun under an older one).
  void refresh_index_in_force(const std::string& provider_id);

  FeedStore& store_;
  ClusterStore& leases_;
  live::LiveBus* live_ = nullptr;
  FeedSettings settings_;
  SearchIndex index_;
  boost::asio::io_context io_;
  boost::asio::thread_pool parse_pool_{1};
  // Declared after io_: destroyed first, with the callbacks that post to io_.
  std::unique_ptr<net::Fetcher> fetcher_;
  std::thread thread_;
  std::mutex refresh_mu_;  // see refresh_index_in_force
  // Pulls ended, by trigger (schedule, manual, fresh) and outcome (ok, error).
  std::array<std::array<std::atomic<std::uint64_t>, 2>, 3> pulls_{};
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Tracked>> providers_;  // by id
  std::set<std::string> deleted_;                              // ids deleted in this process's life
  bool stopped_ = false;
};

}  // namespace daisy::feeds
