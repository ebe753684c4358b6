#include "http/request.h"
#include "util/ascii.h"

#include <gtest/gtest.h>

namespace {

using namespace daisy::http;
using daisy::iequals;

Request with_query(std::string_view query) {
  Request r;
  r.query = query;
  return r;
}

TEST(PercentDecode, DecodesEscapes) {
  EXPECT_EQ(percent_decode("a%20b", false), "a b");
  EXPECT_EQ(percent_decode("%41%42%43", false), "ABC");
  EXPECT_EQ(percent_decode("%2f%2F", false), "//");
  EXPECT_EQ(percent_decode("%e2%82%ac", false), "\xe2\x82\xac");  // the euro sign in UTF-8
  EXPECT_EQ(percent_decode("%00", false), std::string("\0", 1));
  EXPECT_EQ(percent_decode("", false), "");
  EXPECT_EQ(percent_decode("plain", false), "plain");
}

TEST(PercentDecode, PlusIsSpaceOnlyWhenAsked) {
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  // An encoded plus stays a plus either way.
  EXPECT_EQ(percent_decode("a%2Bb", true), "a+b");
  EXPECT_EQ(percent_decode("a%2bb", false), "a+b");
}

TEST(PercentDecode, MalformedEscapesAreKeptLiterally) {
  EXPECT_EQ(percent_decode("%zz", false), "%zz");
  EXPECT_EQ(percent_decode("%4z", false), "%4z");
  EXPECT_EQ(percent_decode("%z4", false), "%z4");
  EXPECT_EQ(percent_decode("100%", false), "100%");
  EXPECT_EQ(percent_decode("%4", false), "%4");
  EXPECT_EQ(percent_decode("%", false), "%");
  EXPECT_EQ(percent_decode("%%41", false), "%A");
  EXPECT_EQ(percent_decode("a%2", false), "a%2");
  EXPECT_EQ(percent_decode("%+1", true), "% 1");
}

TEST(QueryParam, FindsDecodedValues) {
  Request r = with_query("limit=10&after=abc&q=a+b%26c&empty=&flag");
  EXPECT_EQ(r.query_param("limit"), "10");
  EXPECT_EQ(r.query_param("after"), "abc");
  EXPECT_EQ(r.query_param("q"), "a b&c");
  EXPECT_EQ(r.query_param("empty"), "");
  EXPECT_EQ(r.query_param("flag"), "");
  EXPECT_EQ(r.query_param("missing"), std::nullopt);
}

TEST(QueryParam, NamesAreExactAfterDecoding) {
  Request r = with_query("Limit=1&na%6De=x&a+b=y&limit2=3");
  EXPECT_EQ(r.query_param("limit"), std::nullopt);
  EXPECT_EQ(r.query_param("Limit"), "1");
  EXPECT_EQ(r.query_param("name"), "x");
  EXPECT_EQ(r.query_param("a b"), "y");
  EXPECT_EQ(r.query_param("lim"), std::nullopt);
}

TEST(QueryParam, FirstOccurrenceWinsAndEmptyPairsAreSkipped) {
  Request r = with_query("&&a=1&a=2&&b==x");
  EXPECT_EQ(r.query_param("a"), "1");
  EXPECT_EQ(r.query_param("b"), "=x");  // only the first '=' separates
  EXPECT_EQ(with_query("").query_param("a"), std::nullopt);
  EXPECT_EQ(with_query("=v").query_param(""), "v");
}

TEST(RequestHeader, NamesAreCaseInsensitive) {
  Request r;
  r.headers = {{"Content-Type", "application/json"},
               {"x-request-id", "abc"},
               {"AUTHORIZATION", "Bearer t"},
               {"X-Dup", "first"},
               {"x-dup", "second"}};
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(r.header("X-Request-Id"), "abc");
  EXPECT_EQ(r.header("Authorization"), "Bearer t");
  EXPECT_EQ(r.header("X-DUP"), "first");
  EXPECT_EQ(r.header("Content-Length"), "");
  EXPECT_EQ(r.header("Content-Typ"), "");
}

TEST(Iequals, ComparesAsciiLettersCaseInsensitively) {
  EXPECT_TRUE(iequals("", ""));
  EXPECT_TRUE(iequals("Bearer ", "bEARER "));
  EXPECT_TRUE(iequals("application/JSON", "Application/json"));
  EXPECT_FALSE(iequals("abc", "abcd"));
  EXPECT_FALSE(iequals("abc", "abd"));
  // Only A-Z fold: '[' (0x5b) and '{' (0x7b) differ by 0x20 but are not letters.
  EXPECT_FALSE(iequals("[", "{"));
  EXPECT_FALSE(iequals("@", "`"));
  EXPECT_FALSE(iequals("\xc9", "\xe9"));
}

TEST(Methods, ParseIsCaseSensitiveAndNamesRoundTrip) {
  EXPECT_EQ(parse_method("GET"), Method::get);
  EXPECT_EQ(parse_method("HEAD"), Method::head);
  EXPECT_EQ(parse_method("POST"), Method::post);
  EXPECT_EQ(parse_method("PUT"), Method::put);
  EXPECT_EQ(parse_method("PATCH"), Method::patch);
  EXPECT_EQ(parse_method("DELETE"), Method::del);
  EXPECT_EQ(parse_method("OPTIONS"), Method::options);
  EXPECT_EQ(parse_method("get"), Method::other);
  EXPECT_EQ(parse_method("TRACE"), Method::other);
  EXPECT_EQ(parse_method(""), Method::other);
  for (Method m : {Method::get, Method::head, Method::post, Method::put, Method::patch, Method::del, Method::options}) {
    EXPECT_EQ(parse_method(method_name(m)), m) << method_name(m);
  }
  EXPECT_EQ(method_name(Method::del), "DELETE");
  EXPECT_EQ(method_name(Method::other), "OTHER");
}

TEST(Response, DefaultsToJson) {
  Response r(201, "{}");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, "{}");
  EXPECT_TRUE(r.headers.empty());
  EXPECT_EQ(Response().status, 200);
}

}  // namespace
