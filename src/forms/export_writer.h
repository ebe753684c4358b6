#pragma once
// Rows of a response export: CSV (RFC 4180: fields with a comma, quote, CR or
// LF are quoted, quotes doubled, lines end with CRLF) or NDJSON.

#include <simdjson.h>

#include <string>
#include <vector>

#include "domain/answer_text.h"
#include "domain/question.h"
#include "store/form_store.h"

namespace daisy::forms {

// The header line: response_id, submitted_at, status, then the question keys.
void append_csv_header(std::string& out, const std::vector<Question>& questions);

// What to do with text that a spreadsheet would run as a formula: a cell
// whose text begins with '=', '+', '-', '@', tab or carriage return.
// `escape` (the default) writes such text answers with a leading "'" (OWASP's
// advice against CSV injection); numbers, geopoints made of numbers, and text
// that is only a signed number (a phone number such as "+441234567890") stay
// as they are. `keep` writes every answer raw.
enum class CsvFormulas { escape, keep };

// One response as a CSV line; answers are parsed with the caller's parser.
// A multi_choice answer is joined with ';', a geopoint written "lat,lon", a
// missing answer left empty.
void append_csv_row(std::string& out, const ResponseRow& row, const std::vector<Question>& questions,
                    simdjson::dom::parser& parser, CsvFormulas formulas = CsvFormulas::escape);

void append_csv_field(std::string& out, std::string_view value);

}  // namespace daisy::forms
