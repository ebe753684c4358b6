#pragma once
// Between protobuf's JSON-like messages (google.protobuf.Struct, Value,
// Timestamp, and Daisy's messages whose field names are the JSON API's) and
// the JSON the operations read and the HTTP API writes, so that gRPC reuses
// their checks and their output instead of restating them.

#include <google/protobuf/message.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace daisy::rpc {

// The Struct as a JSON object. False, with `bad_path` (below `path`), when a
// number is not finite (JSON has no NaN or infinity).
bool struct_to_json(const google::protobuf::Struct& in, boost::json::object& out, const std::string& path,
                    std::string& bad_path);
// A protobuf timestamp as the ISO 8601 text the API reads and shows (UTC,
// ns); false when it is outside what the API holds (1677 to 2262).
bool timestamp_text(const google::protobuf::Timestamp& t, std::string& out);
// Fills `out` from JSON text with the proto3 JSON mapping (unknown fields
// ignored: the HTTP API may show more than a message holds). False when the
// text does not fit the message.
bool json_to_message(std::string_view json, google::protobuf::Message& out);

}  // namespace daisy::rpc
