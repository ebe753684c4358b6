// The lines nodes pass each other for the live streams (live/live_wire.h).
#include <gtest/gtest.h>

#include "live/live_wire.h"

namespace daisy::live {
namespace {

TEST(LiveWire, AMessageComesBackAsItWent) {
  LiveMessage m;
  m.kind = Kind::event_created;
  m.app_id = "app \"1\"";
  m.category = "ui\n";
  m.data = std::make_shared<const std::string>(R"({"id":"e1","n":[1,2.5,"é"]})");
  std::string text;
  append_wire_message(m, text);
  ASSERT_EQ(text.back(), '\n');
  ASSERT_EQ(text.find('\n'), text.size() - 1) << "one line";
  auto parsed = parse_wire_line(std::string_view(text).substr(0, text.size() - 1));
  ASSERT_TRUE(parsed && parsed->message);
  EXPECT_FALSE(parsed->interest);
  EXPECT_EQ(parsed->message->kind, Kind::event_created);
  EXPECT_EQ(parsed->message->app_id, m.app_id);
  EXPECT_EQ(parsed->message->category, m.category);
  EXPECT_EQ(parsed->message->form_id, "");
  EXPECT_EQ(*parsed->message->data, *m.data);
}

TEST(LiveWire, InterestNamesKinds) {
  KindMask mask = (KindMask{1} << static_cast<unsigned>(Kind::job_updated)) |
                  (KindMask{1} << static_cast<unsigned>(Kind::response_created));
  std::string text;
  append_wire_interest(mask, text);
  EXPECT_EQ(text, "{\"want\":[\"response.created\",\"job.updated\"]}\n");
  auto parsed = parse_wire_line(std::string_view(text).substr(0, text.size() - 1));
  ASSERT_TRUE(parsed && parsed->interest);
  EXPECT_EQ(*parsed->interest, mask);
}

TEST(LiveWire, OtherLinesAreSkipped) {
  for (std::string_view line :
       {"", "not json", "[]", R"({"k":"nope","d":1})", R"({"k":"event.created"})", R"({"want":"event.created"})"})
    EXPECT_FALSE(parse_wire_line(line)) << line;
}

}  // namespace
}  // namespace daisy::live
