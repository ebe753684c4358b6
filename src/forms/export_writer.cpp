#include "forms/export_writer.h"

#include <charconv>

namespace daisy::forms {
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

// True when the answer is text (or a list starting with text) that a
// spreadsheet would read as a formula.
bool is_signed_number(std::string_view text) {
  if (text.size() < 2 || (text[0] != '+' && text[0] != '-')) return false;
  bool digits = false, point = false;
  for (char c : text.substr(1)) {
    if (c >= '0' && c <= '9') {
      digits = true;
    } else if (c == '.' && !point) {
      point = true;
    } else {
      return false;
    }
  }
  return digits;
}

bool is_formula_text(simdjson::dom::element e, std::string_view text) {
  if (text.empty() || std::string_view("=+-@\t\r").find(text.front()) == std::string_view::npos) return false;
  if (is_signed_number(text)) return false;  // "+441234567890" runs nothing
  if (e.type() == simdjson::dom::element_type::STRING) return true;
  simdjson::dom::array items;
  if (e.type() != simdjson::dom::element_type::ARRAY || e.get_array().get(items)) return false;
  for (simdjson::dom::element first : items) return first.type() == simdjson::dom::element_type::STRING;
  return false;
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
                    simdjson::dom::parser& parser, CsvFormulas formulas) {
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
    if (!parsed || answers[q.key].get(value)) continue;
    std::string text = answer_text(value);
    if (formulas == CsvFormulas::escape && is_formula_text(value, text)) text.insert(0, 1, '\'');
    append_csv_field(out, text);
  }
  out += "\r\n";
}

}  // namespace daisy::forms
