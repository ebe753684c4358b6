#include "jobs/kinds/sheets_config.h"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <memory>

#include "domain/json_fields.h"
#include "domain/question.h"
#include "util/crypto.h"

namespace daisy::jobs {
namespace {
namespace json = boost::json;

constexpr std::size_t max_columns = 1000;

bool is_metadata_column(std::string_view key) {
  return std::find(std::begin(sheet_metadata_columns), std::end(sheet_metadata_columns), key) !=
         std::end(sheet_metadata_columns);
}

// The key as an object: sent as one, or as the key file's text in a string.
const json::object* key_object(const json::value& sent, json::value& parsed) {
  if (sent.is_object()) return &sent.as_object();
  if (!sent.is_string() || sent.as_string().size() > 64 * 1024) return nullptr;
  json::error_code ec;
  parsed = json::parse(sent.as_string(), ec);
  return !ec && parsed.is_object() ? &parsed.as_object() : nullptr;
}

void read_service_account(const json::object& config, ServiceAccountKey& key, std::vector<FieldError>& errors) {
  const json::value* sent = config.if_contains("service_account");
  if (!sent) {
    errors.push_back({"config.service_account", "is required: the service account's JSON key, as Google issued it"});
    return;
  }
  json::value parsed;
  const json::object* o = key_object(*sent, parsed);
  const json::value* type = o ? o->if_contains("type") : nullptr;
  if (!o || !type || !type->is_string() || type->as_string() != "service_account") {
    errors.push_back({"config.service_account",
                      "must be a service account's JSON key (an object whose type is \"service_account\")"});
    return;
  }
  std::size_t before = errors.size();
  const std::string prefix = "config.service_account.";
  for (auto [field, out] : {std::pair{"client_email", &key.client_email}, std::pair{"private_key", &key.private_key},
                            std::pair{"private_key_id", &key.private_key_id}, std::pair{"token_uri", &key.token_uri}}) {
    read_string(*o, field, *out, errors, prefix);
    if (out->empty() && errors.size() == before) errors.push_back({prefix + field, "is required"});
  }
  if (errors.size() > before) return;
  if (key.client_email.find('@') == std::string::npos || key.client_email.size() > 320) {
    errors.push_back({prefix + "client_email", "must be the service account's email address"});
  }
  if (key.private_key == "***") {
    errors.push_back(
        {prefix + "private_key", "is the key as Google issued it: Daisy never shows it back, paste it again"});
  } else if (!is_rsa_private_key_pem(key.private_key)) {
    errors.push_back(
        {prefix + "private_key", "must be the key's RSA private key in PEM (-----BEGIN PRIVATE KEY-----)"});
  }
  if (key.token_uri.size() > 2048 || !is_http_url(key.token_uri)) {
    errors.push_back({prefix + "token_uri", "must be an absolute http:// or https:// URL"});
  }
  key.json = *o;
}

void read_columns(const json::object& config, std::vector<std::string>& columns, std::vector<FieldError>& errors) {
  const json::value* v = config.if_contains("columns");
  if (!v) return;
  if (!v->is_array() || v->as_array().empty() || v->as_array().size() > max_columns) {
    errors.push_back({"config.columns", "must be an array of 1 to 1000 question keys or metadata names"});
    return;
  }
  for (std::size_t i = 0; i < v->as_array().size(); ++i) {
    const json::value& c = v->as_array()[i];
    std::string field = "config.columns[" + std::to_string(i) + "]";
    if (!c.is_string() || (!is_metadata_column(c.as_string()) && !is_valid_question_key(c.as_string()))) {
      errors.push_back(
          {field, "must be a question key or one of response_id, submitted_at, status, form_version, app_id"});
      continue;
    }
    std::string key(c.as_string());
    if (std::find(columns.begin(), columns.end(), key) != columns.end()) {
      errors.push_back({field, "repeats " + key});
      continue;
    }
    columns.push_back(std::move(key));
  }
}

std::shared_ptr<const KindConfig> read_sheets_config(const json::object& config, bool /*sync: never*/,
                                                     std::vector<FieldError>& errors) {
  std::size_t errors_before = errors.size();
  auto s = std::make_shared<SheetsConfig>();
  reject_unknown_fields(config,
                        {"spreadsheet_id", "sheet", "service_account", "api_base", "columns", "max_requests_per_minute",
                         "batch_max_rows", "batch_max_ms"},
                        errors, "config.");
  read_string(config, "spreadsheet_id", s->spreadsheet_id, errors, "config.");
  bool id_chars = std::all_of(s->spreadsheet_id.begin(), s->spreadsheet_id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
  if (s->spreadsheet_id.empty() || s->spreadsheet_id.size() > 200 || !id_chars) {
    errors.push_back(
        {"config.spreadsheet_id",
         "is required: the id in the spreadsheet's URL (https://docs.google.com/spreadsheets/d/<id>/edit)"});
  }
  read_string(config, "sheet", s->sheet, errors, "config.");
  if (s->sheet.empty() || s->sheet.size() > 100 || s->sheet.find_first_of("[]*?/\\:") != std::string::npos) {
    errors.push_back({"config.sheet", "must be a tab's title: 1 to 100 characters, none of [ ] * ? / \\ :"});
  }
  read_service_account(config, s->service_account, errors);
  read_string(config, "api_base", s->api_base, errors, "config.");
  while (!s->api_base.empty() && s->api_base.back() == '/') s->api_base.pop_back();
  if (s->api_base.size() > 2048 || !is_http_url(s->api_base)) {
    errors.push_back({"config.api_base", "must be an absolute http:// or https:// URL"});
  }
  read_columns(config, s->columns, errors);
  read_int(config, "max_requests_per_minute", 1, 6000, s->max_requests_per_minute, errors, "config.");
  read_int(config, "batch_max_rows", 1, 10000, s->batch_max_rows, errors, "config.");
  read_int(config, "batch_max_ms", 0, 60000, s->batch_max_ms, errors, "config.");
  if (errors.size() > errors_before) return nullptr;
  return s;
}

}  // namespace

json::object SheetsConfig::to_json() const {
  json::object c;
  c["spreadsheet_id"] = spreadsheet_id;
  c["sheet"] = sheet;
  c["service_account"] = service_account.json;
  c["api_base"] = api_base;
  if (!columns.empty()) {
    json::array list;
    for (const auto& column : columns) list.emplace_back(column);
    c["columns"] = std::move(list);
  }
  c["max_requests_per_minute"] = max_requests_per_minute;
  c["batch_max_rows"] = batch_max_rows;
  c["batch_max_ms"] = batch_max_ms;
  return c;
}

json::object SheetsConfig::to_shown_json() const {
  json::object c = to_json();
  c["service_account"] = json::object{{"type", "service_account"},
                                      {"client_email", service_account.client_email},
                                      {"private_key_id", service_account.private_key_id},
                                      {"private_key", "***"},
                                      {"token_uri", service_account.token_uri}};
  return c;
}

IntegrationKindRules sheets_kind_rules() {
  return {.type = "sheets", .can_be_sync = false, .signs_with_secret = false, .read_config = read_sheets_config};
}

void check_sheet_columns(const SheetsConfig& config, const std::vector<std::string>& question_keys,
                         std::vector<FieldError>& errors) {
  for (std::size_t i = 0; i < config.columns.size(); ++i) {
    const std::string& key = config.columns[i];
    if (is_metadata_column(key)) continue;
    if (std::find(question_keys.begin(), question_keys.end(), key) == question_keys.end()) {
      errors.push_back({"config.columns[" + std::to_string(i) + "]", "the form has no question " + key});
    }
  }
}

}  // namespace daisy::jobs
