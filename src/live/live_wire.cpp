#include "live/live_wire.h"

#include <boost/json/parse.hpp>

#include <memory>

#include "util/json_text.h"

namespace daisy::live {
namespace {

void append_field(std::string& out, std::string_view key, const std::string& value) {
  if (value.empty()) return;
  out += ",\"";
  out += key;
  out += "\":";
  append_json_string(out, value);
}

std::string string_field(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (!v || !v->is_string()) return {};
  return std::string(v->get_string());
}

}  // namespace

void append_wire_message(const LiveMessage& m, std::string& out) {
  out += "{\"k\":";
  append_json_string(out, name_of(m.kind));
  append_field(out, "a", m.app_id);
  append_field(out, "f", m.form_id);
  append_field(out, "c", m.category);
  append_field(out, "i", m.integration_id);
  out += ",\"d\":";
  out += m.data ? *m.data : std::string("null");
  out += "}\n";
}

void append_wire_interest(KindMask kinds, std::string& out) {
  out += "{\"want\":[";
  bool first = true;
  for (std::size_t k = 0; k < kind_count; ++k) {
    if (!(kinds & (KindMask{1} << k))) continue;
    if (!first) out += ',';
    first = false;
    append_json_string(out, kind_names[k]);
  }
  out += "]}\n";
}

std::optional<WireLine> parse_wire_line(std::string_view line) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const boost::json::object& o = v.get_object();
  WireLine out;
  if (const boost::json::value* want = o.if_contains("want")) {
    if (!want->is_array()) return std::nullopt;
    KindMask mask = 0;
    for (const boost::json::value& name : want->get_array()) {
      Kind k{};
      if (name.is_string() && kind_named(name.get_string(), k)) mask |= KindMask{1} << static_cast<unsigned>(k);
    }
    out.interest = mask;
    return out;
  }
  LiveMessage m;
  const boost::json::value* kind = o.if_contains("k");
  const boost::json::value* data = o.if_contains("d");
  if (!kind || !kind->is_string() || !kind_named(kind->get_string(), m.kind) || !data) return std::nullopt;
  m.app_id = string_field(o, "a");
  m.form_id = string_field(o, "f");
  m.category = string_field(o, "c");
  m.integration_id = string_field(o, "i");
  m.data = std::make_shared<const std::string>(to_json_text(*data));
  out.message = std::move(m);
  return out;
}

}  // namespace daisy::live
