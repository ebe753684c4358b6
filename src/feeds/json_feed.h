#pragma once
// One page of a json (or daisy) provider: a JSON array of objects, or an
// object holding the array (at items_path, else "items") and optionally
// "next_cursor". Each item is kept by its id (the id_field member, a string or
// an integer); an item without one is skipped and counted. Items are kept as
// JSON text, numbers in their shortest form (18.5, not 1.85E1).

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace daisy::feeds {

// Longer ids are skipped: a page cursor of /v1/items ("<provider>/<item id>")
// must fit the 256 characters a cursor may have.
constexpr std::size_t max_item_id_length = 150;

struct JsonItem {
  std::string id;
  std::string data;  // the item as JSON text
};

struct JsonPage {
  std::vector<JsonItem> items;
  std::optional<std::string> next_cursor;  // absent or null: the last page
  std::size_t skipped = 0;
  std::vector<std::string> skip_reasons;  // the first few
};

std::variant<JsonPage, std::string> parse_json_page(std::string_view body, const std::string& items_path,
                                                    const std::string& id_field);

}  // namespace daisy::feeds
