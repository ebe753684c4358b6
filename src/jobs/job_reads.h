#pragma once
// Reading jobs as the API shows them, for every transport (HTTP's /v1/jobs,
// gRPC's GetJob and ListJobs): a job's and an attempt's JSON, and a page of
// jobs that sees every job acknowledged so far.

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <string_view>
#include <vector>

#include "store/form_store.h"
#include "store/job_store.h"
#include "util/read_runner.h"

namespace daisy::jobs {

// Whether a listing may filter on this status, and what to say when it may not.
bool is_job_status(std::string_view status);
inline constexpr std::string_view job_status_error =
    "must be one of pending, running, awaiting_callback, succeeded, failed, dead, cancelled";

// id, integration_id, source_id, type, status, attempts, next_attempt_at,
// last_error, data (the record it carries), output, created_at, updated_at.
boost::json::object job_json(FormStore& records, const JobRow& job);
// number, started_at, duration_ms, outcome, http_status, error, log (when any).
boost::json::object attempt_json(const JobAttemptRow& attempt);

// A page of jobs. Commits may leave their jobs in the outbox (SQLite) until
// they are filed (JobStore::file_pending_jobs): a page that is not full is
// read again after filing the oldest waiting rows, a page's worth at first
// and eight times more each round, so the listing sees every job
// acknowledged so far without first filing a backlog of a million. Jobs
// still in the outbox are pending, so a listing of any other status needs
// none filed. Once the outbox is found empty the page is read one last time
// (the job runner files too, and may have done so since the previous read).
// The reads run through `run_read`; when it refuses one, the
// result is the rows read so far (the caller knows it refused).
boost::asio::awaitable<Result<std::vector<JobRow>>> list_filed_jobs(JobStore& store, const JobFilter& filter,
                                                                    const ReadRunner& run_read);

// job_json with its attempts (attempts_log), as GET /v1/jobs/{id} shows it.
Result<boost::json::object> job_detail_json(JobStore& jobs, FormStore& records, const JobRow& job);

// The job, filing the outbox first when it is not filed yet.
boost::asio::awaitable<Result<JobRow>> get_filed_job(JobStore& store, const std::string& id);

}  // namespace daisy::jobs
