#pragma once
// Identifiers: UUIDv7 for stored records (time-ordered, so ids sort by creation),
// and cheap random request ids for logs.

#include <string>

namespace daisy {

// RFC 9562 UUIDv7, lower-case canonical form. Monotonic within a process.
std::string new_uuid_v7();

// An RFC 9562 UUIDv8 made from SHA-256 of the name: the same name always gives
// the same id (for records keyed by someone else's ids, such as a provider's plans).
std::string name_based_uuid(std::string_view name);
// 32 hex characters from a fast per-thread generator; not for secrets.
std::string new_request_id();

bool is_uuid(std::string_view s);
// A UUID (is_uuid) in lower case, the one form Daisy stores and compares.
std::string lower_case_uuid(std::string_view uuid);

}  // namespace daisy
