#include "rpc/proto_json.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <cmath>
#include <limits>

namespace daisy::rpc {
namespace {

namespace json = boost::json;
using google::protobuf::Struct;
using google::protobuf::Value;

TEST(ProtoJsonTest, AStructBecomesTheSameJsonObject) {
  Struct in;
  (*in.mutable_fields())["host"].set_string_value("example.org");
  (*in.mutable_fields())["count"].set_number_value(3);
  (*in.mutable_fields())["ok"].set_bool_value(true);
  (*in.mutable_fields())["nothing"].set_null_value(google::protobuf::NULL_VALUE);
  auto* list = (*in.mutable_fields())["tags"].mutable_list_value();
  list->add_values()->set_string_value("a");
  (*(*in.mutable_fields())["form"].mutable_struct_value()->mutable_fields())["first_name"].set_string_value("Ada");

  json::object out;
  std::string bad_path;
  ASSERT_TRUE(struct_to_json(in, out, "data", bad_path));
  EXPECT_EQ(out, json::parse(R"({"host":"example.org","count":3.0,"ok":true,"nothing":null,"tags":["a"],
                                 "form":{"first_name":"Ada"}})")
                     .as_object());
  EXPECT_TRUE(bad_path.empty());
}

// The path is spelled out only for the value refused, from the path given.
TEST(ProtoJsonTest, ANumberJsonCannotHoldIsNamedByItsPath) {
  Struct in;
  auto* form = (*in.mutable_fields())["form"].mutable_struct_value();
  auto* scores = (*form->mutable_fields())["scores"].mutable_list_value();
  scores->add_values()->set_number_value(1);
  scores->add_values()->set_number_value(std::numeric_limits<double>::quiet_NaN());

  json::object out;
  std::string bad_path;
  EXPECT_FALSE(struct_to_json(in, out, "data", bad_path));
  EXPECT_EQ(bad_path, "data.form.scores[1]");

  bad_path.clear();
  EXPECT_FALSE(struct_to_json(in, out, "", bad_path));
  EXPECT_EQ(bad_path, "form.scores[1]");

  Struct top;
  (*top.mutable_fields())["x"].set_number_value(std::numeric_limits<double>::infinity());
  bad_path.clear();
  EXPECT_FALSE(struct_to_json(top, out, "answers", bad_path));
  EXPECT_EQ(bad_path, "answers.x");
}

}  // namespace
}  // namespace daisy::rpc
