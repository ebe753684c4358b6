#include "api/export_writer.h"

#include <charconv>

namespace daisy::api {
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

// The text of one answer in a cell (before CSV quoting).
std::string cell_text(simdjson::dom::element e) {
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
        text += cell_text(item);
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

}  // namespace

void append_csv_field(std::string& out, std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(value);
    return;
  }
  out.push_back('"');
  for (char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

void append_csv_header(std::string& out, const std::vector<Question>& questions) {
  out += "response_id,submitted_at,status";
  for (const auto& q : questions) {
    out.push_back(',');
    append_csv_field(out, q.key);
  }
  out += "\r\n";
}

void append_csv_row(std::string& out, const ResponseRow& row, const std::vector<Question>& questions,
                    simdjson::dom::parser& parser) {
  out += row.id;
  out.push_back(',');
  out += row.submitted_at;
  out.push_back(',');
  out += row.status;
  simdjson::dom::object answers;
  bool parsed = !parser.parse(row.answers).get(answers);
  for (const auto& q : questions) {
    out.push_back(',');
    simdjson::dom::element value;
    if (parsed && !answers[q.key].get(value)) append_csv_field(out, cell_text(value));
  }
  out += "\r\n";
}

}  // namespace daisy::api
