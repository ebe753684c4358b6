#pragma once
// An event's JSON, as the read API returns it and as jobs carry it.

#include <string>

#include "store/store.h"

namespace daisy::api {

// Written by hand: ids, UUIDs and times need no escaping; data is spliced in
// as stored.
void append_event(std::string& out, const EventRow& e);

}  // namespace daisy::api
