#pragma once
// A Google Sheets integration's config, and the rules of the sheets kind:
// each response of a form becomes a row of one tab of a spreadsheet.

#include <boost/json/object.hpp>

#include <string>
#include <vector>

#include "domain/integration.h"

namespace daisy::jobs {

// A service account's JSON key, as Google issues it. The whole key is kept
// (stored as sent); only these fields are read.
struct ServiceAccountKey {
  std::string client_email, private_key, private_key_id, token_uri;
  boost::json::object json;  // the key as sent
};

// The metadata a column may hold besides the form's questions.
inline constexpr std::string_view sheet_metadata_columns[] = {"response_id", "submitted_at", "status", "form_version",
                                                              "app_id"};

struct SheetsConfig final : KindConfig {
  std::string spreadsheet_id;
  std::string sheet = "Responses";  // the tab's title
  ServiceAccountKey service_account;
  std::string api_base = "https://sheets.googleapis.com";
  // Keys of questions and metadata columns, in order; empty: the metadata
  // response_id, submitted_at, status, then every question in form order.
  std::vector<std::string> columns;
  int max_requests_per_minute = 60;
  int batch_max_rows = 500;
  int batch_max_ms = 1000;

  // The stored form: the whole key included.
  boost::json::object to_json() const override;
  // As replies show it: the key's private_key is "***".
  boost::json::object to_shown_json() const override;
};

// Async only; config {spreadsheet_id, sheet, service_account, api_base,
// columns, max_requests_per_minute, batch_max_rows, batch_max_ms}.
IntegrationKindRules sheets_kind_rules();

// The configured columns that are neither metadata nor one of these question
// keys, each as an error naming it ("config.columns[2]").
void check_sheet_columns(const SheetsConfig& config, const std::vector<std::string>& question_keys,
                         std::vector<FieldError>& errors);

}  // namespace daisy::jobs
