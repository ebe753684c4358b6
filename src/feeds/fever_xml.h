#pragma once
// The fever-xml feed: base plans holding plans holding zones, in either of the
// two vocabularies of the same tree:
//   planList/output/base_plan/plan/zone     (base_plan_id, plan_id, plan_start_date, ...)
//   eventList/output/base_event/event/zone  (base_event_id, event_id, event_start_date, ...)
// Dates are local times YYYY-MM-DDTHH:MM:SS. A plan that cannot be read (an
// impossible date, a price that is not a number, a missing attribute) is
// skipped and counted; the rest of the feed is kept.

#include <cstddef>
#include <string>
#include <variant>
#include <vector>

namespace daisy::feeds {

struct FeverPlan {
  std::string base_plan_id, plan_id;
  std::string title, sell_mode;
  std::string starts_local, ends_local;  // YYYY-MM-DDTHH:MM:SS
  std::string min_price, max_price;      // decimal text as written, over all zones
  std::string attributes;                // JSON object: the base plan's and plan's attributes, zone count
};

struct FeverFeed {
  std::vector<FeverPlan> plans;
  // Every base plan with sell_mode="online", whether or not a plan of it
  // could be read: it makes its plans searchable, now and in later pulls.
  std::vector<std::string> online_base_plans;
  std::size_t skipped = 0;
  std::vector<std::string> skip_reasons;  // the first few, for the sync record
};

// Parses the document in place (the buffer is modified). A document that is
// not XML, or not one of the two trees, or with more than max_tags tags (the
// parsed tree takes several times the text's size: this bounds it whatever the
// text holds), is an error (the string). A plan whose title passes 1,000 bytes
// or whose attributes pass 16 KiB of JSON is skipped.
constexpr std::size_t max_tags = 8'000'000;
std::variant<FeverFeed, std::string> parse_fever_xml(std::string& document);

// A local date and time YYYY-MM-DDTHH:MM:SS that exists in the calendar.
bool is_local_datetime(std::string_view s);

}  // namespace daisy::feeds
