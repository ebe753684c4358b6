// A fever-xml feed as a provider pull hands it to feeds::parse_fever_xml
// (src/feeds/fever_xml.cpp): pugixml parses the buffer in place, then both
// vocabularies (planList/base_plan/plan, eventList/base_event/event), dates,
// prices and attributes are read; bad plans are skipped and counted. Every
// plan kept must hold what the search index and the store rely on.

#include <cstdint>
#include <cstdlib>
#include <string>

#include <boost/json/parse.hpp>

#include "feeds/fever_xml.h"
#include "fuzz_common.h"
#include "util/utf8.h"

namespace {

// Titles and attributes are UTF-8 whatever the feed's bytes (found here
// first: tests/fuzz/crashes/fever_xml/, fixed in fever_xml.cpp).
constexpr bool check_utf8 = true;

bool json_but_for_utf8(const std::string& text) {
  boost::json::parse_options options;
  options.allow_invalid_utf8 = true;
  boost::json::error_code ec;
  boost::json::parse(text, ec, {}, options);
  return !ec;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string document(reinterpret_cast<const char*>(data), size);  // parsed in place
  auto parsed = daisy::feeds::parse_fever_xml(document);
  if (std::get_if<std::string>(&parsed)) return 0;
  const auto& feed = std::get<daisy::feeds::FeverFeed>(parsed);
  FUZZ_CHECK(feed.skip_reasons.size() <= feed.skipped && feed.skip_reasons.size() <= 10, "skip reasons miscounted");
  for (const auto& plan : feed.plans) {
    FUZZ_CHECK(!plan.base_plan_id.empty() && !plan.plan_id.empty(), "a plan without its ids");
    FUZZ_CHECK(plan.title.size() <= 1000, "a title over 1000 bytes");
    FUZZ_CHECK(daisy::feeds::is_local_datetime(plan.starts_local), "a start that is not a local date-time");
    FUZZ_CHECK(daisy::feeds::is_local_datetime(plan.ends_local), "an end that is not a local date-time");
    FUZZ_CHECK(plan.starts_local <= plan.ends_local, "a plan that ends before it starts");
    FUZZ_CHECK(!plan.min_price.empty() && !plan.max_price.empty(), "a plan without prices");
    FUZZ_CHECK(std::strtod(plan.min_price.c_str(), nullptr) <= std::strtod(plan.max_price.c_str(), nullptr),
               "min_price above max_price");
    FUZZ_CHECK(plan.attributes.size() <= 16 * 1024, "attributes over 16 KiB");
    FUZZ_CHECK(json_but_for_utf8(plan.attributes), "attributes that are not JSON");
    if (check_utf8) {
      FUZZ_CHECK(daisy::fuzz::is_json(plan.attributes), "attributes that are not UTF-8");
      FUZZ_CHECK(daisy::is_utf8_without_nul(plan.title), "a title that is not UTF-8");
    }
  }
  return 0;
}
