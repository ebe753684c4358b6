#pragma once
// Twilio's status callbacks, without HTTP: the delivery status of a message
// an sms job sent (POST /v1/integrations/{id}/sms-status?job={job}, see
// api/sms_status.cpp), checked by Twilio's signature and recorded on the job.
//
// - X-Twilio-Signature must be base64(HMAC-SHA1(auth_token, url + each POST
//   parameter sorted by name, name then value)), url being the one Daisy gave
//   Twilio (its public base URL, the route's path, the query as received).
// - MessageStatus delivered: the job succeeded; failed or undelivered: the
//   job is dead with Twilio's ErrorCode (never sent again by itself); any
//   other status (queued, sent...): nothing changes.
// - A status for a job that has ended is taken and changes nothing (Twilio
//   repeats callbacks).

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "jobs/integration_registry.h"
#include "jobs/kinds/twilio_api.h"
#include "store/job_store.h"

namespace daisy::jobs {

// Ends the outcome by a message's status: true (and the outcome ended) for
// delivered, failed and undelivered; false for a status on the way.
bool settle_by_status(AttemptOutcome& outcome, std::string_view sid, std::string_view status,
                      std::string_view error_code);

// The sid in an sms job's output; "" when none.
std::string sms_sid_of(std::string_view output);

struct SmsStatusReport {
  std::string integration_id, job_id;
  std::string url;        // the callback URL as Daisy gave it to Twilio
  std::string signature;  // X-Twilio-Signature
  FormParams params;      // the POST parameters
};

struct SmsStatusAnswer {
  enum class Kind {
    taken,         // recorded, or nothing to change (204)
    forbidden,     // unsigned or wrongly signed (403)
    not_found,     // no such integration of type sms, or no such job of it (404)
    conflict,      // the job is not awaiting this message's status (409)
    bad_request,   // no MessageStatus (400)
    store_failed,  // status says why
  };
  Kind kind = Kind::taken;
  std::string detail;
  Status status;
};

boost::asio::awaitable<SmsStatusAnswer> record_sms_status(JobStore& store, const IntegrationRegistry& integrations,
                                                          SmsStatusReport report);

// Delivery statuses taken, by status (Prometheus text).
void render_sms_status_metrics(std::string& out);

}  // namespace daisy::jobs
