#pragma once
// The storage every backend fulfils (SqliteStore, PostgresStore): one
// interface per concern, and Store, their aggregate, which the wiring in
// runtime/ holds. Each consumer takes only its concern's interface:
//   AppStore      apps, tokens, settings           store/app_store.h
//   FormStore     forms and responses              store/form_store.h
//   EventStore    events, rejections, event types  store/event_store.h
//   FeedStore     providers, pulls, items          store/feed_store.h
//   JobStore      integrations and jobs            store/job_store.h
//   ClusterStore  node ids, change versions, leases store/cluster_store.h
//   RetentionStore deleting what outlived its time  store/retention_store.h
// Nothing above these interfaces knows which database is underneath.
//
// Contract, for every interface:
// - Writes are asynchronous and complete only after their transaction has
//   committed durably; the caller's coroutine resumes on its own executor.
//   Concurrent writes may share one transaction (group commit); each write
//   succeeds or fails on its own.
// - Reads are synchronous, indexed and bounded by a limit. The API runs the
//   ones whose cost depends on the data (listings, queries, exports) on the
//   readers (http/reader_pool.h), point reads on the I/O threads.
// - Status::unavailable means "try again later" (answered as 503).

#include <vector>

#include "store/app_store.h"
#include "store/cluster_store.h"
#include "store/event_store.h"
#include "store/feed_store.h"
#include "store/form_store.h"
#include "store/job_store.h"
#include "store/retention_store.h"
#include "store/status.h"

namespace daisy {

class Store : public AppStore,
              public FormStore,
              public EventStore,
              public FeedStore,
              public JobStore,
              public ClusterStore,
              public RetentionStore {
 public:
  ~Store() override = default;

  // Applies pending migrations; returns the versions applied.
  virtual Result<std::vector<int>> migrate() = 0;
  // True when the database answers a trivial query now.
  virtual bool answers() = 0;
  // True when writes are going through (not stalled, e.g. by a full disk).
  virtual bool writes_go_through() = 0;
  // Both: what GET /readyz reports.
  bool ready() { return writes_go_through() && answers(); }
  // Commits everything submitted so far and stops accepting writes.
  virtual void close() = 0;
};

}  // namespace daisy
