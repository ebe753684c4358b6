#include "rpc/proto_json.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <cmath>
#include <limits>

#include "util/time.h"

namespace daisy::rpc {
namespace {

namespace json = boost::json;
using google::protobuf::Value;

// Where a value sits in the message, spelled out only when a value is
// refused: the walk builds no string for the values it accepts.
struct Trail {
  const Trail* parent = nullptr;
  std::string_view key;  // a field's name (the root's: the path given)...
  int index = -1;        // ...or, when not negative, a list element's place
  std::string text() const {
    std::string head = parent ? parent->text() : std::string();
    if (index >= 0) return head + "[" + std::to_string(index) + "]";
    return head.empty() || key.empty() ? head + std::string(key) : head + "." + std::string(key);
  }
};

bool struct_fields_to_json(const google::protobuf::Struct& in, json::object& out, const Trail& at,
                           std::string& bad_path);

bool value_to_json(const Value& in, json::value& out, const Trail& at, std::string& bad_path) {
  switch (in.kind_case()) {
    case Value::kNumberValue:
      if (!std::isfinite(in.number_value())) {
        bad_path = at.text();
        return false;
      }
      out = in.number_value();
      return true;
    case Value::kStringValue:
      out.emplace_string().assign(in.string_value());  // in out's storage (an arena, for a batch)
      return true;
    case Value::kBoolValue:
      out = in.bool_value();
      return true;
    case Value::kStructValue:
      return struct_fields_to_json(in.struct_value(), out.emplace_object(), at, bad_path);
    case Value::kListValue: {
      json::array& list = out.emplace_array();
      const auto& values = in.list_value().values();
      list.reserve(static_cast<std::size_t>(values.size()));
      for (int i = 0; i < values.size(); ++i) {
        if (!value_to_json(values[i], list.emplace_back(nullptr), Trail{&at, {}, i}, bad_path)) return false;
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

bool struct_fields_to_json(const google::protobuf::Struct& in, json::object& out, const Trail& at,
                           std::string& bad_path) {
  out.reserve(static_cast<std::size_t>(in.fields().size()));
  for (const auto& [key, value] : in.fields()) {
    if (!value_to_json(value, out[key], Trail{&at, key}, bad_path)) return false;
  }
  return true;
}

}  // namespace

bool struct_to_json(const google::protobuf::Struct& in, json::object& out, std::string_view path,
                    std::string& bad_path) {
  return struct_fields_to_json(in, out, Trail{nullptr, path}, bad_path);
}

bool timestamp_text(const google::protobuf::Timestamp& t, std::string& out) {
  constexpr std::int64_t limit_seconds = std::numeric_limits<std::int64_t>::max() / 1'000'000'000 - 1;
  if (t.seconds() > limit_seconds || t.seconds() < -limit_seconds || t.nanos() < 0 || t.nanos() > 999'999'999) {
    return false;
  }
  out = format_utc_ns(t.seconds() * 1'000'000'000 + t.nanos());
  return true;
}

void json_to_value(const json::value& in, Value& out) {
  switch (in.kind()) {
    case json::kind::null:
      out.set_null_value(google::protobuf::NULL_VALUE);
      return;
    case json::kind::bool_:
      out.set_bool_value(in.get_bool());
      return;
    case json::kind::int64:
      out.set_number_value(static_cast<double>(in.get_int64()));
      return;
    case json::kind::uint64:
      out.set_number_value(static_cast<double>(in.get_uint64()));
      return;
    case json::kind::double_:
      out.set_number_value(in.get_double());
      return;
    case json::kind::string:
      out.set_string_value(std::string(in.get_string()));
      return;
    case json::kind::array: {
      auto* list = out.mutable_list_value();
      list->mutable_values()->Reserve(static_cast<int>(in.get_array().size()));
      for (const auto& element : in.get_array()) json_to_value(element, *list->add_values());
      return;
    }
    case json::kind::object:
      json_to_struct(in.get_object(), *out.mutable_struct_value());
      return;
  }
}

void json_to_struct(const json::object& in, google::protobuf::Struct& out) {
  auto& fields = *out.mutable_fields();
  for (const auto& field : in) json_to_value(field.value(), fields[std::string(field.key())]);
}

bool json_text_to_struct(std::string_view text, google::protobuf::Struct& out) {
  json::error_code ec;
  json::value parsed = json::parse(text, ec);
  if (ec || !parsed.is_object()) return false;
  json_to_struct(parsed.get_object(), out);
  return true;
}

bool json_text_to_value(std::string_view text, Value& out) {
  json::error_code ec;
  json::value parsed = json::parse(text, ec);
  if (ec) return false;
  json_to_value(parsed, out);
  return true;
}

}  // namespace daisy::rpc
