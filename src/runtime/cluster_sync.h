#pragma once
// Keeps this node's in-memory state (app tokens, forms, event types,
// integrations, providers and the search index) current with the changes
// made through other nodes sharing its database: it polls the store's change
// versions (ClusterStore::change_versions) and reloads each kind whose version
// moved. Each poll also keeps this node's id claimed (a PostgreSQL restart
// ends the session that held it). A store that one process owns alone
// reports no versions and needs no claim, and then this does nothing.
//
// Threads: one of its own; the reloads run on it and must be thread-safe
// against the request path (each subsystem's reload is).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/cluster_store.h"

namespace daisy {

class ClusterSync {
 public:
  // Reloads the state of one kind; false when it could not (tried again at
  // the next poll).
  using Reload = std::function<bool(const std::string& kind)>;

  ClusterSync(ClusterStore& store, std::chrono::milliseconds interval);
  ~ClusterSync();  // same as stop()

  // Before start(): the reload for kinds equal to `kind`, or starting with
  // it when it ends with ':'.
  void on(std::string kind, Reload reload);
  void start();
  void stop();

  // Before the start-up loads: takes the versions as they are as already
  // reloaded, so that the first poll reloads only what changed after them.
  // When they cannot be read, the first poll reloads every kind.
  void mark_current();
  // One poll now.
  void poll();

 private:
  const Reload* reload_for(const std::string& kind) const;
  // Keeps this node's id claimed (ClusterStore::keep_node_claim); logs when
  // the claim is lost and when it is taken again.
  void keep_node_claim();

  ClusterStore& store_;
  std::chrono::milliseconds interval_;
  std::vector<std::pair<std::string, Reload>> reloads_;
  std::map<std::string, std::int64_t> seen_;  // kind -> version reloaded
  bool claim_ok_ = true;                      // as of the last poll
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace daisy
