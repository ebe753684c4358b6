#include "feeds/json_feed.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "util/json_text.h"

namespace daisy::feeds {
namespace json = boost::json;

namespace {

std::optional<std::string> scalar_text(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_int64()) return std::to_string(v.as_int64());
  if (v.is_uint64()) return std::to_string(v.as_uint64());
  return std::nullopt;
}

}  // namespace

std::variant<JsonPage, std::string> parse_json_page(std::string_view body, const std::string& items_path,
                                                    const std::string& id_field) {
  json::error_code ec;
  json::parse_options options;
  options.max_depth = 64;
  json::value root = json::parse(body, ec, {}, options);
  if (ec) return "the body is not JSON: " + ec.message();

  JsonPage page;
  const json::value* items = &root;
  if (root.is_object()) {
    const json::object& object = root.as_object();
    if (const json::value* cursor = object.if_contains("next_cursor")) page.next_cursor = scalar_text(*cursor);
    std::string path = items_path.empty() ? "items" : items_path;
    const json::value* at = &root;
    std::size_t start = 0;
    while (at && start <= path.size()) {
      std::size_t dot = path.find('.', start);
      std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      at = at->is_object() ? at->as_object().if_contains(key) : nullptr;
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    if (!at) return "the body has no array at '" + path + "'";
    items = at;
  }
  if (!items->is_array()) return "the items are not a JSON array";
  for (const json::value& item : items->as_array()) {
    const json::value* id = item.is_object() ? item.as_object().if_contains(id_field) : nullptr;
    std::optional<std::string> text = id ? scalar_text(*id) : std::nullopt;
    if (!text || text->empty() || text->size() > max_item_id_length) {
      ++page.skipped;
      if (page.skip_reasons.size() < 10) {
        page.skip_reasons.push_back("an item has no usable '" + id_field +
                                    "' (a string or an integer of at most 150 characters)");
      }
      continue;
    }
    page.items.push_back({std::move(*text), to_json_text(item)});
  }
  return page;
}

}  // namespace daisy::feeds
