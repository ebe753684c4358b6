#pragma once
// A response's and an event's JSON, as the API returns them and as jobs
// carry them (their payload snapshots).

#include <string>

#include "store/store.h"

namespace daisy::api {

// Written by hand: ids, UUIDs and times need no escaping; data is spliced in
// as stored.
void append_event(std::string& out, const EventRow& e);

// The same for a response: ids, statuses and times need no escaping; the
// JSON columns are spliced in as stored.
std::string response_json(const ResponseRow& r);

}  // namespace daisy::api
