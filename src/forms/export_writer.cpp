#include "forms/export_writer.h"

#include <charconv>

namespace daisy::forms {
namespace {

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
