#include "feeds/fever_xml.h"

#include <boost/json/object.hpp>
#include <pugixml.hpp>

#include <cstdlib>
#include <string_view>

#include "util/iso8601.h"
#include "util/json_text.h"
#include "util/utf8.h"

namespace daisy::feeds {
namespace json = boost::json;

namespace {

// The names one vocabulary gives to the parts of the tree.
struct Vocabulary {
  const char* root;
  const char* base;
  const char* base_id;
  const char* plan;
  const char* plan_id;
  const char* start;
  const char* end;
};

constexpr Vocabulary plan_words{"planList", "base_plan",       "base_plan_id", "plan",
                                "plan_id",  "plan_start_date", "plan_end_date"};
constexpr Vocabulary event_words{"eventList", "base_event",       "base_event_id", "event",
                                 "event_id",  "event_start_date", "event_end_date"};

constexpr std::size_t max_title_bytes = 1000;
constexpr std::size_t max_attribute_bytes = 16 * 1024;

bool two_digits(std::string_view s, std::size_t at, unsigned max, unsigned& out) {
  if (s[at] < '0' || s[at] > '9' || s[at + 1] < '0' || s[at + 1] > '9') return false;
  out = static_cast<unsigned>((s[at] - '0') * 10 + (s[at + 1] - '0'));
  return out <= max;
}

// -?digits[.digits], at most 30 characters: a price as feeds write it.
bool is_decimal(std::string_view s) {
  if (s.empty() || s.size() > 30) return false;
  std::size_t i = s[0] == '-' ? 1 : 0;
  std::size_t digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  if (digits == 0) return false;
  if (i == s.size()) return true;
  if (s[i] != '.') return false;
  ++i;
  std::size_t fraction = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++fraction;
  return fraction > 0 && i == s.size();
}

// Text from the feed as UTF-8: a document that is (or says it is) UTF-8 but
// holds other bytes, or declares an encoding pugixml does not convert, would
// otherwise put bytes that are not UTF-8 into JSON replies. Such bytes, and
// NUL, become U+FFFD.
std::string utf8(const char* text) { return to_utf8_without_nul(text ? text : ""); }

class PlanReader {
 public:
  PlanReader(const Vocabulary& words, FeverFeed& feed) : w_(words), feed_(feed) {}

  void read_base(const pugi::xml_node& base) {
    json::object base_attributes;
    for (const auto& a : base.attributes()) base_attributes[utf8(a.name())] = utf8(a.value());
    const char* base_id = base.attribute(w_.base_id).as_string(nullptr);
    const char* sell_mode = base.attribute("sell_mode").as_string(nullptr);
    const char* title = base.attribute("title").as_string(nullptr);
    const std::string title_text = utf8(title);
    std::string problem;
    if (!base_id || !*base_id) {
      problem = std::string("a ") + w_.base + " has no " + w_.base_id;
    } else if (!sell_mode) {
      problem = std::string(w_.base) + " " + base_id + " has no sell_mode";
    } else if (!title) {
      problem = std::string(w_.base) + " " + base_id + " has no title";
    } else if (title_text.size() > max_title_bytes) {
      problem = std::string(w_.base) + " " + base_id + " has a title longer than 1000 bytes";
    }
    if (base_id && *base_id && sell_mode && std::string_view(sell_mode) == "online") {
      feed_.online_base_plans.push_back(utf8(base_id));
    }
    for (pugi::xml_node plan = base.child(w_.plan); plan; plan = plan.next_sibling(w_.plan)) {
      if (!problem.empty()) {
        skip(problem);
        continue;
      }
      read_plan(plan, base_id, sell_mode, title_text, base_attributes);
    }
  }

 private:
  void skip(std::string reason) {
    ++feed_.skipped;
    if (feed_.skip_reasons.size() < 10) feed_.skip_reasons.push_back(to_utf8_without_nul(reason));
  }

  void read_plan(const pugi::xml_node& node, const char* base_id, const char* sell_mode, const std::string& title,
                 const json::object& base_attributes) {
    FeverPlan plan;
    plan.base_plan_id = utf8(base_id);
    plan.sell_mode = utf8(sell_mode);
    plan.title = title;
    const char* plan_id = node.attribute(w_.plan_id).as_string(nullptr);
    std::string where = std::string(w_.plan) + " " + (plan_id ? plan_id : "?") + " of " + w_.base + " " + base_id;
    if (!plan_id || !*plan_id) return skip(where + ": no " + w_.plan_id);
    plan.plan_id = utf8(plan_id);
    const char* start = node.attribute(w_.start).as_string(nullptr);
    const char* end = node.attribute(w_.end).as_string(nullptr);
    if (!start || !is_local_datetime(start)) return skip(where + ": " + w_.start + " is not a valid local date-time");
    if (!end || !is_local_datetime(end)) return skip(where + ": " + w_.end + " is not a valid local date-time");
    plan.starts_local = start;
    plan.ends_local = end;
    if (plan.ends_local < plan.starts_local) return skip(where + ": ends before it starts");

    double lowest = 0, highest = 0;
    std::size_t zones = 0;
    for (pugi::xml_node zone = node.child("zone"); zone; zone = zone.next_sibling("zone")) {
      const char* zone_id = zone.attribute("zone_id").as_string(nullptr);
      const char* price = zone.attribute("price").as_string(nullptr);
      if (!zone_id || !*zone_id) return skip(where + ": a zone has no zone_id");
      if (!price || !is_decimal(price)) return skip(where + ": zone " + zone_id + " has a price that is not a number");
      double value = std::strtod(price, nullptr);
      if (zones == 0 || value < lowest) lowest = value, plan.min_price = price;
      if (zones == 0 || value > highest) highest = value, plan.max_price = price;
      ++zones;
    }
    if (zones == 0) return skip(where + ": no zone, so no price");

    json::object attributes = base_attributes;
    for (const auto& a : node.attributes()) attributes[utf8(a.name())] = utf8(a.value());
    attributes["zones"] = zones;
    plan.attributes = to_json_text(attributes);
    if (plan.attributes.size() > max_attribute_bytes) return skip(where + ": its attributes pass 16 KiB");
    feed_.plans.push_back(std::move(plan));
  }

  const Vocabulary& w_;
  FeverFeed& feed_;
};

}  // namespace

bool is_local_datetime(std::string_view s) {
  if (s.size() != 19 || s[10] != 'T' || s[13] != ':' || s[16] != ':') return false;
  if (!parse_date(s.substr(0, 10))) return false;
  unsigned hour, minute, second;
  return two_digits(s, 11, 23, hour) && two_digits(s, 14, 59, minute) && two_digits(s, 17, 59, second);
}

std::variant<FeverFeed, std::string> parse_fever_xml(std::string& document) {
  // Counted before the tree is built: every tag starts with '<'.
  std::size_t tags = 0;
  const char* end = document.data() + document.size();
  for (const char* p = document.data(); p < end; ++p) {
    p = static_cast<const char*>(std::memchr(p, '<', static_cast<std::size_t>(end - p)));
    if (!p) break;
    if (++tags > max_tags) return "the document has more than " + std::to_string(max_tags) + " tags";
  }
  pugi::xml_document doc;
  // Entities and end-of-line handling on; no DOCTYPE processing exists in
  // pugixml, so no entity expansion attack applies.
  auto result = doc.load_buffer_inplace(document.data(), document.size(), pugi::parse_default);
  if (!result) {
    return "malformed XML at byte " + std::to_string(result.offset) + ": " + result.description();
  }
  pugi::xml_node root = doc.document_element();
  const Vocabulary* words = nullptr;
  if (std::string_view(root.name()) == plan_words.root) words = &plan_words;
  if (std::string_view(root.name()) == event_words.root) words = &event_words;
  if (!words) {
    return "the root element is <" + std::string(root.name()) + ">, not <planList> or <eventList>";
  }
  FeverFeed feed;
  PlanReader reader(*words, feed);
  for (pugi::xml_node output = root.child("output"); output; output = output.next_sibling("output")) {
    for (pugi::xml_node base = output.child(words->base); base; base = base.next_sibling(words->base)) {
      reader.read_base(base);
    }
  }
  return feed;
}

}  // namespace daisy::feeds
