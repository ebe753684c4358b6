#include "util/json_text.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace json = boost::json;
using daisy::to_json_text;

TEST(JsonText, WritesCompactJsonThatParsesBackToTheSameValue) {
  const char* docs[] = {
      R"({"a":1,"b":[true,false,null],"c":{"d":"e"},"f":-7,"g":18446744073709551615})",
      R"([1.5,-0.25,1e+300,0,"x"])",
      R"({"s":"quote \" backslash \\ newline \n tab \t bell \u0007 é ☃"})",
      R"({})",
      R"([])",
  };
  for (const char* doc : docs) {
    json::value v = json::parse(doc);
    std::string text = to_json_text(v);
    EXPECT_EQ(json::parse(text), v) << text;
  }
}

TEST(JsonText, NumbersLookAsWritten) {
  EXPECT_EQ(to_json_text(json::parse("[1.5, 3.25, 100, -2]")), "[1.5,3.25,100,-2]");
}

TEST(JsonText, EscapesControlBytesQuotesAndBackslashes) {
  EXPECT_EQ(to_json_text(json::value("a\"b\\c\nd\x01")), R"("a\"b\\c\nd\u0001")");
  EXPECT_EQ(to_json_text(json::value("plain é")), "\"plain é\"");
}

TEST(JsonText, ObjectsAndArraysWithoutACopyIntoAValue) {
  json::object o{{"k", json::array{1, 2}}};
  EXPECT_EQ(to_json_text(o), R"({"k":[1,2]})");
  EXPECT_EQ(to_json_text(o.at("k").as_array()), "[1,2]");
}
