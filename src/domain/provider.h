#pragma once
// A provider: a system Daisy pulls data from on a schedule because it will not
// push it. Its definition is what the admin sets; pull state (ETag, cursor,
// last sync) lives beside it in the store.

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "domain/field_error.h"

namespace daisy {

enum class FeedFormat { fever_xml, json, daisy };

struct ProviderDefinition {
  std::string name;  // 1..100 characters: letters, digits, '-', '_', '.'
  std::string url;   // http:// or https://
  FeedFormat format = FeedFormat::fever_xml;
  int interval_s = 60;    // 5 .. 86400
  int timeout_ms = 5000;  // 100 .. 120000, the whole pull
  std::vector<std::pair<std::string, std::string>> headers;
  bool enabled = true;
  std::string timezone = "UTC";  // IANA name: the zone of fever-xml's local dates
  // json (and daisy, which sets them itself): where the items are and how to
  // ask for the next ones.
  std::string id_field = "id";
  std::string cursor_param;  // empty: every pull asks for everything
  std::string items_path;    // dotted path to the array; empty: the root or "items"
  // daisy: another Daisy's form and its admin token (reading a form's
  // responses there takes the admin token).
  std::string form_id;
  std::string token;

  // The stored and returned form. The daisy token is returned only as "***"
  // (and "***" sent back in a PATCH keeps the token).
  boost::json::object to_json(bool reveal_token) const;
};

std::string_view format_name(FeedFormat format);

// Validates a whole definition (POST) or a change to one (PATCH: only the
// fields present replace those of `base`). Errors name each bad field.
std::variant<ProviderDefinition, std::vector<FieldError>> parse_provider_definition(
    const boost::json::object& body, const ProviderDefinition* base = nullptr);

// Reads a stored definition (the JSON of to_json(true)); nullopt when unreadable.
std::optional<ProviderDefinition> provider_definition_from_json(std::string_view text);

}  // namespace daisy
