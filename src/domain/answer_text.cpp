#include "domain/answer_text.h"

#include <charconv>

namespace daisy {
namespace {

void append_number(std::string& out, simdjson::dom::element e) {
  char buf[32];
  switch (e.type()) {
    case simdjson::dom::element_type::INT64: {
      std::int64_t v = 0;
      if (e.get_int64().get(v)) return;
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
      out.append(buf, end);
      return;
    }
    case simdjson::dom::element_type::UINT64: {
      std::uint64_t v = 0;
      if (e.get_uint64().get(v)) return;
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
      out.append(buf, end);
      return;
    }
    default: {
      double v = 0;
      if (e.get_double().get(v)) return;
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
      out.append(buf, end);
      return;
    }
  }
}

}  // namespace

std::string answer_text(simdjson::dom::element e) {
  std::string text;
  switch (e.type()) {
    case simdjson::dom::element_type::STRING: {
      std::string_view sv;
      if (!e.get_string().get(sv)) text = std::string(sv);
      break;
    }
    case simdjson::dom::element_type::BOOL: {
      bool b = false;
      if (!e.get_bool().get(b)) text = b ? "true" : "false";
      break;
    }
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE:
      append_number(text, e);
      break;
    case simdjson::dom::element_type::ARRAY: {
      bool first = true;
      simdjson::dom::array items;
      if (e.get_array().get(items)) break;
      for (simdjson::dom::element item : items) {
        if (!first) text.push_back(';');
        first = false;
        text += answer_text(item);
      }
      break;
    }
    case simdjson::dom::element_type::OBJECT: {
      simdjson::dom::object o;
      if (e.get_object().get(o)) break;
      simdjson::dom::element lat, lon;
      if (!o["lat"].get(lat) && !o["lon"].get(lon)) {
        append_number(text, lat);
        text.push_back(',');
        append_number(text, lon);
      } else {
        text = simdjson::minify(e);
      }
      break;
    }
    case simdjson::dom::element_type::NULL_VALUE:
      break;
  }
  return text;
}

}  // namespace daisy
