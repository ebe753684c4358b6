#include "rpc/proto_json.h"

#include <google/protobuf/util/json_util.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cmath>
#include <limits>

#include "util/time.h"

namespace daisy::rpc {
namespace {

namespace json = boost::json;
using google::protobuf::Value;

bool value_to_json(const Value& in, json::value& out, const std::string& path, std::string& bad_path) {
  switch (in.kind_case()) {
    case Value::kNumberValue:
      if (!std::isfinite(in.number_value())) {
        bad_path = path;
        return false;
      }
      out = in.number_value();
      return true;
    case Value::kStringValue:
      out = json::string(in.string_value());
      return true;
    case Value::kBoolValue:
      out = in.bool_value();
      return true;
    case Value::kStructValue:
      return struct_to_json(in.struct_value(), out.emplace_object(), path, bad_path);
    case Value::kListValue: {
      json::array& list = out.emplace_array();
      const auto& values = in.list_value().values();
      list.reserve(static_cast<std::size_t>(values.size()));
      for (int i = 0; i < values.size(); ++i) {
        if (!value_to_json(values[i], list.emplace_back(nullptr), path + "[" + std::to_string(i) + "]", bad_path)) {
          return false;
        }
      }
      return true;
    }
    case Value::kNullValue:
    case Value::KIND_NOT_SET:
      out = nullptr;
      return true;
  }
  out = nullptr;
  return true;
}

}  // namespace

bool struct_to_json(const google::protobuf::Struct& in, json::object& out, const std::string& path,
                    std::string& bad_path) {
  out.reserve(static_cast<std::size_t>(in.fields().size()));
  for (const auto& [key, value] : in.fields()) {
    if (!value_to_json(value, out[key], path.empty() ? key : path + "." + key, bad_path)) return false;
  }
  return true;
}

bool timestamp_text(const google::protobuf::Timestamp& t, std::string& out) {
  constexpr std::int64_t limit_seconds = std::numeric_limits<std::int64_t>::max() / 1'000'000'000 - 1;
  if (t.seconds() > limit_seconds || t.seconds() < -limit_seconds || t.nanos() < 0 || t.nanos() > 999'999'999) {
    return false;
  }
  out = format_utc_ns(t.seconds() * 1'000'000'000 + t.nanos());
  return true;
}

bool json_to_message(std::string_view json, google::protobuf::Message& out) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  return google::protobuf::util::JsonStringToMessage(std::string(json), &out, options).ok();
}

}  // namespace daisy::rpc
