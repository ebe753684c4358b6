#pragma once
// Writing jobs inside another write's transaction: a response or an event
// batch and the jobs it triggers commit together or not at all.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/job_store.h"
#include "store/sqlite/connection.h"
#include "store/status.h"

namespace daisy::sqlite {

// Into `jobs`, as they are (a replay's jobs); their seqs are appended to
// *seqs when given.
Status insert_job_rows(Connection& db, const std::vector<JobRow>& jobs, std::vector<std::int64_t>* seqs = nullptr);

// Into `job_outbox` (see migration 0007): one row for each run of jobs with
// the same record and trigger, which share their payload. The job runner's
// claims file them in `jobs` later.
Status insert_outbox_rows(Connection& db, const std::vector<JobRow>& jobs);

// Files up to `max_rows` outbox rows with seq <= through_seq in `jobs`,
// oldest first. Due jobs among them, up to claim.max_jobs, are filed already
// claimed (running, attempt 1, due at now_ms + lease_ms) and appended to
// *claim.claimed (when given); the rest are filed pending, due when their
// integration's schedule said. Returns how many outbox rows it filed.
struct OutboxClaim {
  std::size_t max_jobs = 0;
  std::int64_t now_ms = 0, lease_ms = 0;
  std::vector<JobRow>* claimed = nullptr;
};
Result<std::size_t> file_outbox_rows(Connection& db, std::size_t max_rows, std::int64_t through_seq,
                                     OutboxClaim claim = {});

// The jobs of one record still in the outbox (pending); an index seek
// (job_outbox_by_source, migration 0008).
Result<std::vector<JobRow>> outbox_jobs_of(Connection& db, std::string_view source_id);

// The statement of SqliteStore::list_jobs for this filter: after the cursor,
// one "column = ?" for each of job_filter_conditions(f), then the limit.
std::string list_jobs_sql(const JobFilter& f);

}  // namespace daisy::sqlite
