// One page of a json (or daisy) provider through feeds::parse_json_page
// (src/feeds/json_feed.cpp), with the default configuration (items, id) and a
// dotted items_path. Each kept item's JSON text (util/json_text) must read
// back as a JSON object naming the same id: it is what the store keeps and
// what /v1/items serves. (Printing it is not always stable: Boost.JSON 1.81
// reads some numbers one ULP off, e.g. 1.2e+28 as 1.2000000000000001e+28.)

#include <boost/json/parse.hpp>

#include <cstdint>
#include <string>

#include "feeds/json_feed.h"
#include "fuzz_common.h"
#include "util/json_text.h"

namespace {

void check_page(std::string_view body, const std::string& items_path, const std::string& id_field) {
  auto parsed = daisy::feeds::parse_json_page(body, items_path, id_field);
  if (std::get_if<std::string>(&parsed)) return;
  const auto& page = std::get<daisy::feeds::JsonPage>(parsed);
  FUZZ_CHECK(page.skip_reasons.size() <= page.skipped && page.skip_reasons.size() <= 10, "skip reasons miscounted");
  for (const auto& item : page.items) {
    FUZZ_CHECK(!item.id.empty() && item.id.size() <= daisy::feeds::max_item_id_length, "an unusable item id");
    boost::json::error_code ec;
    boost::json::parse_options options;
    options.max_depth = 64;  // as deep as a pull accepts, and as /v1/items reads it
    boost::json::value again = boost::json::parse(item.data, ec, {}, options);
    FUZZ_CHECK(!ec, "an item's text is not JSON");
    FUZZ_CHECK(again.is_object(), "an item that is not an object");
    // The id kept is the one the item's text names.
    const boost::json::value* named = again.as_object().if_contains(id_field);
    FUZZ_CHECK(named, "an item's text lost its id");
    std::string text = named->is_string() ? std::string(named->as_string()) : daisy::to_json_text(*named);
    FUZZ_CHECK(text == item.id, "an item's text names another id");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body = daisy::fuzz::as_text(data, size);
  static const std::string empty, id = "id", nested = "data.list", plan_id = "plan_id";
  check_page(body, empty, id);
  check_page(body, nested, plan_id);
  return 0;
}
