#pragma once
// The Google Sheets API v4 calls the sheets action makes, as requests and
// readings of their replies, without I/O: values.get, values.append
// (valueInputOption=RAW, insertDataOption=INSERT_ROWS), values.update (RAW),
// spreadsheets.get and spreadsheets.batchUpdate. Ranges are A1 notation with
// the tab's title quoted.

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "jobs/kinds/sheets_config.h"
#include "net/fetcher.h"

namespace daisy::jobs {

// "A", "B", ... "Z", "AA", ...: the letters of the 0-based column.
std::string column_letters(std::size_t index);
// The tab's title in A1 notation: 'title', a quote doubled.
std::string quoted_tab(std::string_view title);
// The first row of an A1 range such as 'Tab'!A5:F7 (5); nullopt when none.
std::optional<long> first_row_of_range(std::string_view range);

// The calls; each carries the access token.
net::FetchRequest values_get(const SheetsConfig& config, std::string_view range, std::string_view token);
net::FetchRequest values_append(const SheetsConfig& config, const boost::json::array& rows, std::string_view token);
net::FetchRequest values_update(const SheetsConfig& config, std::string_view range, const boost::json::array& rows,
                                std::string_view token);
net::FetchRequest spreadsheet_get(const SheetsConfig& config, std::string_view token);
net::FetchRequest batch_update(const SheetsConfig& config, const boost::json::array& requests, std::string_view token);

// A reply's body as JSON; null when it is not.
boost::json::value reply_json(const net::FetchResult& result);
// What a failed call says: "HTTP 403 PERMISSION_DENIED: The caller does not
// have permission", or the transport's error.
std::string google_error(const net::FetchResult& result);

}  // namespace daisy::jobs
