#include "jobs/kinds/sheets_api.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cctype>

#include "util/ascii.h"

namespace daisy::jobs {
namespace json = boost::json;

namespace {

constexpr std::chrono::seconds call_timeout{30};
constexpr std::size_t max_reply_bytes = 64u << 20;  // a values.get of a long id column

net::FetchRequest call(const SheetsConfig& config, std::string method, std::string path, std::string_view token) {
  net::FetchRequest request;
  request.url = config.api_base + "/v4/spreadsheets/" + config.spreadsheet_id + path;
  request.method = std::move(method);
  request.timeout = call_timeout;
  request.max_bytes = max_reply_bytes;
  request.follow_redirects = false;
  request.headers.emplace_back("Authorization", "Bearer " + std::string(token));
  return request;
}

std::string values_body(std::string_view range, const json::array& rows) {
  return json::serialize(json::object{{"range", range}, {"majorDimension", "ROWS"}, {"values", rows}});
}

}  // namespace

std::string column_letters(std::size_t index) {
  std::string letters;
  for (std::size_t n = index + 1; n > 0; n = (n - 1) / 26) letters.insert(letters.begin(), char('A' + (n - 1) % 26));
  return letters;
}

std::string quoted_tab(std::string_view title) {
  std::string out = "'";
  for (char c : title) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::optional<long> first_row_of_range(std::string_view range) {
  std::size_t bang = range.rfind('!');
  if (bang == std::string_view::npos) return std::nullopt;
  std::string_view cell = range.substr(bang + 1);
  std::size_t i = 0;
  while (i < cell.size() && std::isalpha(static_cast<unsigned char>(cell[i]))) ++i;
  long row = 0;
  std::size_t digits = 0;
  for (; i < cell.size() && std::isdigit(static_cast<unsigned char>(cell[i])) && digits < 9; ++i, ++digits) {
    row = row * 10 + (cell[i] - '0');
  }
  if (digits == 0 || row == 0) return std::nullopt;
  return row;
}

net::FetchRequest values_get(const SheetsConfig& config, std::string_view range, std::string_view token) {
  return call(config, "GET",
              "/values/" + percent_encode(range) + "?majorDimension=ROWS&valueRenderOption=UNFORMATTED_VALUE", token);
}

net::FetchRequest values_append(const SheetsConfig& config, const json::array& rows, std::string_view token) {
  std::string range = quoted_tab(config.sheet) + "!A1";
  net::FetchRequest request =
      call(config, "POST",
           "/values/" + percent_encode(range) + ":append?valueInputOption=RAW&insertDataOption=INSERT_ROWS", token);
  request.body = values_body(range, rows);
  request.headers.emplace_back("Content-Type", "application/json");
  return request;
}

net::FetchRequest values_update(const SheetsConfig& config, std::string_view range, const json::array& rows,
                                std::string_view token) {
  net::FetchRequest request = call(config, "PUT", "/values/" + percent_encode(range) + "?valueInputOption=RAW", token);
  request.body = values_body(range, rows);
  request.headers.emplace_back("Content-Type", "application/json");
  return request;
}

net::FetchRequest spreadsheet_get(const SheetsConfig& config, std::string_view token) {
  return call(config, "GET", "", token);
}

net::FetchRequest batch_update(const SheetsConfig& config, const json::array& requests, std::string_view token) {
  net::FetchRequest request = call(config, "POST", ":batchUpdate", token);
  request.body = json::serialize(json::object{{"requests", requests}});
  request.headers.emplace_back("Content-Type", "application/json");
  return request;
}

json::value reply_json(const net::FetchResult& result) {
  json::error_code ec;
  json::value v = json::parse(result.body, ec);
  return ec ? json::value() : v;
}

std::string google_error(const net::FetchResult& result) {
  if (!result.error.empty()) return result.timed_out ? "Google did not answer in time" : result.error;
  std::string text = "HTTP " + std::to_string(result.status);
  json::value body = reply_json(result);
  const json::value* error = body.is_object() ? body.as_object().if_contains("error") : nullptr;
  if (error && error->is_object()) {
    const json::object& e = error->as_object();
    if (const json::value* s = e.if_contains("status"); s && s->is_string()) text += " " + std::string(s->as_string());
    if (const json::value* m = e.if_contains("message"); m && m->is_string())
      text += ": " + std::string(m->as_string());
  }
  return text;
}

}  // namespace daisy::jobs
