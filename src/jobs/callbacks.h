#pragma once
// A microservice's callback, without HTTP: the end of a redis job's attempt,
// reported with the job's own callback token (given in the published
// message; the job keeps only its hash). A front end (api/jobs.cpp) checks
// the caller first, then reads the report, then records it.

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>
#include <variant>

#include "jobs/integration_registry.h"
#include "store/job_store.h"

namespace daisy::jobs {

// Why a callback was not taken.
struct CallbackRefusal {
  enum class Kind {
    not_found,     // no such job
    not_waiting,   // the job holds no token and is not awaiting a callback (detail: its status)
    wrong_token,   // the token is not this job's
    moved_on,      // the job stopped waiting meanwhile (cancelled, expired, called back already)
    store_failed,  // status says why
  };
  Kind kind = Kind::store_failed;
  Status status;
  std::string detail;
};

// The job whose token the caller presented, or why not.
std::variant<JobRow, CallbackRefusal> job_for_callback(JobStore& store, const std::string& job_id,
                                                       std::string_view token);

// The start of the outcome that ends the attempt a job awaits (a
// microservice's callback, an SMS delivery status): the attempt as its record
// began it (when, its HTTP status), lasting until now.
AttemptOutcome ending_awaited_attempt(JobStore& store, const JobRow& job);

struct CallbackReport {
  bool succeeded = false;
  std::string output;  // JSON text; empty: none
  std::string error;   // the microservice's words, for a failure
};

// Ends the attempt the job awaits: succeeded, or failed and due again per its
// integration's schedule (dead after the last). The job as it is afterwards.
boost::asio::awaitable<std::variant<JobRow, CallbackRefusal>> record_callback(JobStore& store,
                                                                              const IntegrationRegistry& integrations,
                                                                              JobRow job, CallbackReport report);

}  // namespace daisy::jobs
