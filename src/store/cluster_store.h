#pragma once
// What nodes sharing one database (PostgreSQL) need from it: a claim on this
// node's id, the versions that tell a node what the others changed, and
// leases for work that one node does at a time. A store that one process
// owns alone (SQLite) keeps the defaults: nothing to claim, nothing changed
// elsewhere, every lease granted.

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "store/status.h"

namespace daisy {

class ClusterStore {
 public:
  virtual ~ClusterStore() = default;

  // At the start of `serve`: claims this process's node id among the nodes
  // sharing the store, for as long as it runs; conflict when a live process
  // holds it already (a data dir shared or copied).
  virtual Status claim_node() { return Status::ok(); }
  // Called every poll: keeps the claim while the process runs. A claim that
  // lived in a database session (PostgreSQL's advisory lock) ends with it
  // when the server restarts; it is then taken again, so that a duplicate
  // node started later is refused. conflict when another process took the
  // id in between; unavailable while the database does not answer.
  virtual Status keep_node_claim() { return Status::ok(); }
  // Nodes keep some state in memory (app tokens, forms, event types,
  // integrations, providers, the search index); every change of such state
  // bumps a version per kind ("apps", "forms", "event_types",
  // "integrations", "providers", and "pulls:<provider id>" after each pull),
  // so that nodes notice the changes made through the others by polling.
  virtual Result<std::vector<std::pair<std::string, std::int64_t>>> change_versions() {
    return std::vector<std::pair<std::string, std::int64_t>>{};
  }
  // Takes (or renews) the named lease for holder until now_ms + ttl_ms; false
  // when another holder's lease has not expired.
  virtual boost::asio::awaitable<Result<bool>> try_lease(std::string name, std::string holder, std::int64_t now_ms,
                                                         std::int64_t ttl_ms);
};

inline boost::asio::awaitable<Result<bool>> ClusterStore::try_lease(std::string, std::string, std::int64_t,
                                                                    std::int64_t) {
  co_return true;
}

}  // namespace daisy
