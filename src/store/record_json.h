#pragma once
// A response's and an event's JSON, as the API returns them and as jobs
// carry them (their payload snapshots); a provider pull's record as the sync
// log and the live stream show it.

#include <boost/json/object.hpp>

#include <string>

#include "store/event_store.h"
#include "store/feed_store.h"
#include "store/form_store.h"

namespace daisy {

// Written by hand: ids, UUIDs and times need no escaping; data is spliced in
// as stored.
void append_event(std::string& out, const EventRow& e);

// The same for a response: ids, statuses and times need no escaping; the
// JSON columns are spliced in as stored.
std::string response_json(const ResponseRow& r);

// A job's payload: its snapshot, or the JSON of the response revision it
// refers to (JobRow::revision). not_found when that response is gone.
Result<std::string> job_payload(FormStore& store, const JobRow& job);

boost::json::object sync_json(const SyncRow& s);

// A rejected event as the rejections log shows it ("id" only once stored: seq > 0).
boost::json::object rejection_json(const RejectionRow& r);

}  // namespace daisy
