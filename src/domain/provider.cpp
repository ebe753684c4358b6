#include "domain/provider.h"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include "domain/json_fields.h"
#include "util/ids.h"
#include "util/time_zone.h"

namespace daisy {
namespace json = boost::json;

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

const json::object* read_options(const json::object& body, std::vector<FieldError>& errors) {
  const json::value* v = body.if_contains("options");
  if (!v) return nullptr;
  if (!v->is_object()) {
    errors.push_back({"options", "must be an object"});
    return nullptr;
  }
  return &v->as_object();
}

// Appends an error for each top-level field that is not one of a definition.
void check_known_fields(const json::object& body, std::vector<FieldError>& errors) {
  static constexpr std::string_view known[] = {"name",    "url",     "format",   "interval_s", "timeout_ms",
                                               "headers", "enabled", "timezone", "options"};
  for (const auto& field : body) {
    if (std::find(std::begin(known), std::end(known), field.key()) == std::end(known)) {
      errors.push_back({std::string(field.key()), "is not a known field"});
    }
  }
}

// Reads "format" into d.format when present; when creating, it is required.
void read_format(const json::object& body, bool creating, ProviderDefinition& d, std::vector<FieldError>& errors) {
  std::string format;
  if (read_string(body, "format", format, errors)) {
    if (format == "fever-xml") {
      d.format = FeedFormat::fever_xml;
    } else if (format == "json") {
      d.format = FeedFormat::json;
    } else if (format == "daisy") {
      d.format = FeedFormat::daisy;
    } else {
      errors.push_back({"format", "must be fever-xml, json or daisy"});
    }
  } else if (creating && !body.contains("format")) {
    errors.push_back({"format", "is required: fever-xml, json or daisy"});
  }
}

// Reads the fields every provider has, whatever its format. A field absent from `body` keeps its value in `d`, but
// when creating, name and url must be given.
void read_common_fields(const json::object& body, bool creating, ProviderDefinition& d,
                        std::vector<FieldError>& errors) {
  if (read_string(body, "name", d.name, errors) || creating) {
    if (d.name.empty()) {
      errors.push_back({"name", "is required: 1 to 100 letters, digits, '-', '_' or '.'"});
    } else if (d.name.size() > 100 || !std::all_of(d.name.begin(), d.name.end(), is_name_char)) {
      errors.push_back({"name", "must be 1 to 100 letters, digits, '-', '_' or '.'"});
    }
  }
  if (read_string(body, "url", d.url, errors) || creating) {
    if (d.url.empty()) {
      errors.push_back({"url", "is required (an http:// or https:// URL)"});
    } else if (d.url.size() > 2048 || !is_http_url(d.url)) {
      errors.push_back({"url", "must be an absolute http:// or https:// URL"});
    }
  }
  read_format(body, creating, d, errors);
  read_int(body, "interval_s", 5, 86400, d.interval_s, errors);
  read_int(body, "timeout_ms", 100, 120000, d.timeout_ms, errors);
  read_bool(body, "enabled", d.enabled, errors);
  read_headers(body, "headers", d.headers, errors);
  if (read_string(body, "timezone", d.timezone, errors) && !is_time_zone(d.timezone)) {
    errors.push_back({"timezone", "must be an IANA time zone name such as Europe/Madrid"});
  }
}

// Appends an error for each option that `format` does not have.
void check_option_keys(const json::object& options, FeedFormat format, std::vector<FieldError>& errors) {
  static constexpr std::string_view json_keys[] = {"id_field", "cursor_param", "items_path"};
  static constexpr std::string_view daisy_keys[] = {"form_id", "token"};
  for (const auto& field : options) {
    bool ok = format == FeedFormat::json
                  ? std::find(std::begin(json_keys), std::end(json_keys), field.key()) != std::end(json_keys)
              : format == FeedFormat::daisy
                  ? std::find(std::begin(daisy_keys), std::end(daisy_keys), field.key()) != std::end(daisy_keys)
                  : false;
    if (!ok) {
      errors.push_back({"options." + std::string(field.key()),
                        "is not an option of the " + std::string(format_name(format)) + " format"});
    }
  }
}

// Reads the string option `key` into `out` when present; a bad value leaves `out` as it was.
void read_option(const json::object& options, std::string_view key, std::string& out, std::vector<FieldError>& errors) {
  const json::value* v = options.if_contains(key);
  if (!v) return;
  if (!v->is_string() || v->as_string().size() > 200) {
    errors.push_back({"options." + std::string(key), "must be a string of at most 200 characters"});
    return;
  }
  out = std::string(v->as_string());
}

void read_json_options(const json::object& options, ProviderDefinition& d, std::vector<FieldError>& errors) {
  read_option(options, "id_field", d.id_field, errors);
  read_option(options, "cursor_param", d.cursor_param, errors);
  read_option(options, "items_path", d.items_path, errors);
  if (d.id_field.empty()) errors.push_back({"options.id_field", "must not be empty"});
}

void read_daisy_options(const json::object& options, bool creating, ProviderDefinition& d,
                        std::vector<FieldError>& errors) {
  read_option(options, "form_id", d.form_id, errors);
  std::string kept = d.token;
  read_option(options, "token", d.token, errors);
  if (d.token == "***" && !creating) d.token = kept;  // the masked value sent back: keep the token
}

// A daisy provider needs the other Daisy's form id and token, whether sent now or kept from before.
void check_daisy_source(const ProviderDefinition& d, std::vector<FieldError>& errors) {
  if (!is_uuid(d.form_id)) errors.push_back({"options.form_id", "is required: the id of the other Daisy's form"});
  if (d.token.empty()) {
    errors.push_back({"options.token", "is required: the other Daisy's admin token"});
  } else if (!is_header_value(d.token)) {
    errors.push_back({"options.token", "must not hold control characters"});
  }
}

}  // namespace

std::string_view format_name(FeedFormat format) {
  switch (format) {
    case FeedFormat::fever_xml:
      return "fever-xml";
    case FeedFormat::json:
      return "json";
    case FeedFormat::daisy:
      return "daisy";
  }
  return "fever-xml";
}

json::object ProviderDefinition::to_json(bool reveal_token) const {
  json::object o;
  o["name"] = name;
  o["url"] = url;
  o["format"] = format_name(format);
  o["interval_s"] = interval_s;
  o["timeout_ms"] = timeout_ms;
  json::object h;
  for (const auto& [k, v] : headers) h[k] = v;
  o["headers"] = std::move(h);
  o["enabled"] = enabled;
  o["timezone"] = timezone;
  json::object options;
  if (format == FeedFormat::json) {
    options["id_field"] = id_field;
    if (!cursor_param.empty()) options["cursor_param"] = cursor_param;
    if (!items_path.empty()) options["items_path"] = items_path;
  } else if (format == FeedFormat::daisy) {
    options["form_id"] = form_id;
    options["token"] = reveal_token ? token : std::string("***");
  }
  o["options"] = std::move(options);
  return o;
}

std::variant<ProviderDefinition, std::vector<FieldError>> parse_provider_definition(const json::object& body,
                                                                                    const ProviderDefinition* base) {
  std::vector<FieldError> errors;
  ProviderDefinition d = base ? *base : ProviderDefinition{};
  check_known_fields(body, errors);
  bool creating = base == nullptr;
  FeedFormat old_format = d.format;
  read_common_fields(body, creating, d, errors);

  // Options belong to the format; a new format starts from its defaults.
  const json::object* options = read_options(body, errors);
  if (d.format != old_format && !creating) {
    ProviderDefinition defaults;
    d.id_field = defaults.id_field;
    d.cursor_param = d.items_path = d.form_id = d.token = "";
  }
  if (options) {
    check_option_keys(*options, d.format, errors);
    if (d.format == FeedFormat::json) {
      read_json_options(*options, d, errors);
    } else if (d.format == FeedFormat::daisy) {
      read_daisy_options(*options, creating, d, errors);
    }
  }
  if (d.format == FeedFormat::daisy) check_daisy_source(d, errors);
  if (!errors.empty()) return errors;
  return d;
}

std::optional<ProviderDefinition> provider_definition_from_json(std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  auto parsed = parse_provider_definition(v.as_object());
  if (auto* d = std::get_if<ProviderDefinition>(&parsed)) return std::move(*d);
  return std::nullopt;
}

}  // namespace daisy
