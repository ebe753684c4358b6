#pragma once
// An answer as text in a spreadsheet cell or an export (before any quoting):
// a multi_choice answer joined with ';', a geopoint "lat,lon", null empty.
// The CSV and XLSX exports and the Sheets action write answers this way.

#include <simdjson.h>

#include <string>

namespace daisy {

std::string answer_text(simdjson::dom::element e);

}  // namespace daisy
