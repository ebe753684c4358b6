#include "feeds/fever_xml.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace {

using namespace daisy::feeds;

std::string plan_feed(const std::string& plans) {
  return "<?xml version=\"1.0\"?><planList><output>" + plans + "</output></planList>";
}

const FeverFeed& feed_of(std::variant<FeverFeed, std::string>& parsed) {
  if (auto* error = std::get_if<std::string>(&parsed)) ADD_FAILURE() << *error;
  static FeverFeed empty;
  return std::holds_alternative<FeverFeed>(parsed) ? std::get<FeverFeed>(parsed) : empty;
}

TEST(FeverXml, ReadsPlansWithMinAndMaxOverRepeatedZones) {
  std::string doc = plan_feed(
      "<base_plan base_plan_id=\"77\" sell_mode=\"online\" title=\"Puppets &amp; Friends\">"
      "<plan plan_start_date=\"2024-03-10T11:00:00\" plan_end_date=\"2024-03-10T12:15:00\" plan_id=\"901\">"
      "<zone zone_id=\"5\" price=\"9.00\"/><zone zone_id=\"5\" price=\"12.00\"/><zone zone_id=\"6\" price=\"3.5\"/>"
      "</plan></base_plan>");
  auto parsed = parse_fever_xml(doc);
  const FeverFeed& feed = feed_of(parsed);
  ASSERT_EQ(feed.plans.size(), 1u);
  const FeverPlan& p = feed.plans[0];
  EXPECT_EQ(p.base_plan_id, "77");
  EXPECT_EQ(p.plan_id, "901");
  EXPECT_EQ(p.title, "Puppets & Friends");
  EXPECT_EQ(p.sell_mode, "online");
  EXPECT_EQ(p.starts_local, "2024-03-10T11:00:00");
  EXPECT_EQ(p.ends_local, "2024-03-10T12:15:00");
  EXPECT_EQ(p.min_price, "3.5");
  EXPECT_EQ(p.max_price, "12.00");
  EXPECT_NE(p.attributes.find("\"zones\":3"), std::string::npos) << p.attributes;
  EXPECT_EQ(feed.skipped, 0u);
}

// Found by fuzzing (tests/fuzz/crashes/fever_xml): a feed that says UTF-8
// but is not, or declares an encoding pugixml does not convert, must not put
// bytes that are not UTF-8 into titles or attributes (they reach JSON).
TEST(FeverXml, TextThatIsNotUtf8BecomesReplacementCharacters) {
  for (const char* declaration :
       {"<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "<?xml version=\"1.0\" encoding=\"windows-1252\"?>"}) {
    std::string doc =
        std::string(declaration) +
        "<planList><output><base_plan base_plan_id=\"1\" sell_mode=\"online\" title=\"Caf\xe9 \x80 5\">"
        "<plan plan_start_date=\"2024-03-10T11:00:00\" plan_end_date=\"2024-03-10T12:00:00\" "
        "plan_id=\"2\" note=\"\xff\"><zone zone_id=\"5\" price=\"9.00\"/></plan></base_plan></output></planList>";
    auto parsed = parse_fever_xml(doc);
    const FeverFeed& feed = feed_of(parsed);
    ASSERT_EQ(feed.plans.size(), 1u) << declaration;
    EXPECT_EQ(feed.plans[0].title, "Caf\xEF\xBF\xBD \xEF\xBF\xBD 5") << declaration;
    EXPECT_NE(feed.plans[0].attributes.find("\"note\":\"\xEF\xBF\xBD\""), std::string::npos)
        << feed.plans[0].attributes;
  }  // The 1000-byte limit holds for the title as stored: 400 bytes that are not
  // UTF-8 become 1200 bytes of U+FFFD, so the base plan is skipped.
  std::string doc =
      "<?xml version=\"1.0\"?><planList><output><base_plan base_plan_id=\"1\" sell_mode=\"online\" title=\"" +
      std::string(400, '\xe9') +
      "\"><plan plan_start_date=\"2024-03-10T11:00:00\" plan_end_date=\"2024-03-10T12:00:00\" plan_id=\"2\">"
      "<zone zone_id=\"5\" price=\"9.00\"/></plan></base_plan></output></planList>";
  auto parsed = parse_fever_xml(doc);
  const FeverFeed& feed = feed_of(parsed);
  EXPECT_TRUE(feed.plans.empty());
  EXPECT_EQ(feed.skipped, 1u);
}

TEST(FeverXml, ReadsTheEventVocabulary) {
  std::string doc =
      "<eventList><output><base_event base_event_id=\"12\" sell_mode=\"online\" title=\"Jazz\">"
      "<event event_start_date=\"2024-03-08T20:30:00\" event_end_date=\"2024-03-08T22:30:00\" event_id=\"12\">"
      "<zone zone_id=\"1\" price=\"18.50\"/></event></base_event></output></eventList>";
  auto parsed = parse_fever_xml(doc);
  const FeverFeed& feed = feed_of(parsed);
  ASSERT_EQ(feed.plans.size(), 1u);
  EXPECT_EQ(feed.plans[0].base_plan_id, "12");
  EXPECT_EQ(feed.plans[0].plan_id, "12");
  EXPECT_EQ(feed.plans[0].starts_local, "2024-03-08T20:30:00");
}

TEST(FeverXml, SkipsAndCountsBadPlansKeepingTheRest) {
  auto plan = [](const std::string& id, const std::string& start, const std::string& price) {
    return "<plan plan_start_date=\"" + start + "\" plan_end_date=\"2024-12-31T23:00:00\" plan_id=\"" + id +
           "\"><zone zone_id=\"1\" price=\"" + price + "\"/></plan>";
  };
  std::string doc = plan_feed(
      "<base_plan base_plan_id=\"1\" sell_mode=\"online\" title=\"t\">" + plan("good", "2024-01-01T10:00:00", "5") +
      plan("feb30", "2024-02-30T10:00:00", "5") + plan("sept31", "2021-09-31T10:00:00", "5") +
      plan("hour25", "2024-01-01T25:00:00", "5") + plan("price", "2024-01-01T10:00:00", "abc") +
      plan("", "2024-01-01T10:00:00", "5") +
      "<plan plan_start_date=\"2024-01-01T10:00:00\" plan_end_date=\"2024-01-01T11:00:00\" plan_id=\"nozones\"/>"
      "<plan plan_start_date=\"2024-01-02T10:00:00\" plan_end_date=\"2024-01-01T11:00:00\" plan_id=\"backwards\">"
      "<zone zone_id=\"1\" price=\"1\"/></plan>"
      "</base_plan>"
      "<base_plan base_plan_id=\"2\" sell_mode=\"online\">" +
      plan("untitled", "2024-01-01T10:00:00", "5") + "</base_plan>");
  auto parsed = parse_fever_xml(doc);
  const FeverFeed& feed = feed_of(parsed);
  ASSERT_EQ(feed.plans.size(), 1u);
  EXPECT_EQ(feed.plans[0].plan_id, "good");
  EXPECT_EQ(feed.skipped, 8u);
  EXPECT_FALSE(feed.skip_reasons.empty());
  // Base plan 1 was online even if most of its plans were bad; base plan 2 too.
  EXPECT_EQ(feed.online_base_plans, (std::vector<std::string>{"1", "2"}));
}

TEST(FeverXml, RefusesMalformedXmlAndOtherTrees) {
  std::string broken = "<planList><output><base_plan></output>";
  auto parsed = parse_fever_xml(broken);
  ASSERT_TRUE(std::holds_alternative<std::string>(parsed));
  EXPECT_NE(std::get<std::string>(parsed).find("malformed XML"), std::string::npos);
  std::string other = "<rss><channel/></rss>";
  parsed = parse_fever_xml(other);
  ASSERT_TRUE(std::holds_alternative<std::string>(parsed));
  EXPECT_NE(std::get<std::string>(parsed).find("<rss>"), std::string::npos);
}

static std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(DAISY_TEST_FIXTURES) + "/" + name);
  EXPECT_TRUE(in) << "tests/fixtures/" << name << " is missing";
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TEST(FeverXml, ThePlansFixtureGivesThreePlansAndOneSkipped) {
  std::string doc = read_fixture("fever-plans.xml");
  auto parsed = parse_fever_xml(doc);
  const FeverFeed& feed = feed_of(parsed);
  EXPECT_EQ(feed.plans.size(), 3u);
  EXPECT_EQ(feed.skipped, 1u);  // 2024-04-31 does not exist
}

TEST(FeverXml, TheEventsFixtureReadsTheOtherVocabulary) {
  std::string doc = read_fixture("fever-events-2023.xml");
  auto parsed = parse_fever_xml(doc);
  const FeverFeed& feed = feed_of(parsed);
  ASSERT_EQ(feed.plans.size(), 2u);
  EXPECT_EQ(feed.skipped, 0u);
  EXPECT_EQ(feed.plans[0].title, "Jazz at the Old Mill");
  EXPECT_EQ(feed.plans[1].title, "Open Rehearsal");
}

TEST(FeverXml, BoundsWhatAHostileFeedCanCost) {
  std::string one_plan =
      "<plan plan_start_date=\"2024-01-01T10:00:00\" plan_end_date=\"2024-01-01T11:00:00\" plan_id=\"1\">"
      "<zone zone_id=\"1\" price=\"1\"/></plan>";
  std::string long_title = plan_feed("<base_plan base_plan_id=\"1\" sell_mode=\"online\" title=\"" +
                                     std::string(1001, 't') + "\">" + one_plan + "</base_plan>");
  auto parsed = parse_fever_xml(long_title);
  EXPECT_EQ(feed_of(parsed).plans.size(), 0u);
  EXPECT_EQ(feed_of(parsed).skipped, 1u);
  std::string big_attribute = plan_feed("<base_plan base_plan_id=\"1\" sell_mode=\"online\" title=\"t\" note=\"" +
                                        std::string(17 * 1024, 'n') + "\">" + one_plan + "</base_plan>");
  parsed = parse_fever_xml(big_attribute);
  EXPECT_EQ(feed_of(parsed).plans.size(), 0u);
  EXPECT_EQ(feed_of(parsed).skipped, 1u);
  std::string many_tags = plan_feed("");
  many_tags.reserve(4 * max_tags + 100);
  for (std::size_t i = 0; i < max_tags; ++i) many_tags += "<a/>";
  parsed = parse_fever_xml(many_tags);
  ASSERT_TRUE(std::holds_alternative<std::string>(parsed));
  EXPECT_NE(std::get<std::string>(parsed).find("tags"), std::string::npos);
}

TEST(FeverXml, LocalDateTimes) {
  EXPECT_TRUE(is_local_datetime("2024-02-29T23:59:59"));
  EXPECT_FALSE(is_local_datetime("2023-02-29T10:00:00"));
  EXPECT_FALSE(is_local_datetime("2024-01-01 10:00:00"));
  EXPECT_FALSE(is_local_datetime("2024-01-01T10:60:00"));
  EXPECT_FALSE(is_local_datetime("2024-01-01T10:00:00Z"));
}

}  // namespace
