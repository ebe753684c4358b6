#pragma once
// Between protobuf's JSON-like messages (google.protobuf.Struct, Value,
// Timestamp, and Daisy's messages whose field names are the JSON API's) and
// the JSON the operations read and the HTTP API writes, so that gRPC reuses
// their checks and their output instead of restating them.

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace daisy::rpc {

// The Struct as a JSON object. False, with `bad_path` (below `path`), when a
// number is not finite (JSON has no NaN or infinity).
bool struct_to_json(const google::protobuf::Struct& in, boost::json::object& out, std::string_view path,
                    std::string& bad_path);
// A protobuf timestamp as the ISO 8601 text the API reads and shows (UTC,
// ns); false when it is outside what the API holds (1677 to 2262).
bool timestamp_text(const google::protobuf::Timestamp& t, std::string& out);
// JSON as protobuf's Struct and Value, built directly (protobuf's own JSON
// parser cost a quarter of a Submit's CPU).
void json_to_value(const boost::json::value& in, google::protobuf::Value& out);
void json_to_struct(const boost::json::object& in, google::protobuf::Struct& out);
// JSON text (an object) as a Struct; false when it is not a JSON object.
bool json_text_to_struct(std::string_view text, google::protobuf::Struct& out);
// JSON text as a Value; false when it is not JSON.
bool json_text_to_value(std::string_view text, google::protobuf::Value& out);

}  // namespace daisy::rpc
