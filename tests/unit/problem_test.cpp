#include "http/problem.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace {

using namespace daisy::http;
namespace json = boost::json;

json::object body_of(const Response& r) { return json::parse(r.body).as_object(); }

TEST(Problem, HasTheRfc9457Shape) {
  Response r = problem(404, "not-found", "No route matches this path.");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/problem+json");
  json::object b = body_of(r);
  EXPECT_EQ(b.size(), 4u);
  EXPECT_EQ(b.at("type").as_string(), "urn:daisy:problem:not-found");
  EXPECT_EQ(b.at("title").as_string(), "Not Found");
  EXPECT_EQ(b.at("status").as_int64(), 404);
  EXPECT_EQ(b.at("detail").as_string(), "No route matches this path.");
  EXPECT_FALSE(b.contains("errors"));
  EXPECT_TRUE(r.headers.empty());
}

TEST(Problem, ErrorsAreListedInOrder) {
  Response r = problem(422, "validation-failed", "Bad.", {{"name", "is required"}, {"colour", "is not a known field"}});
  json::object b = body_of(r);
  ASSERT_TRUE(b.contains("errors"));
  const json::array& errors = b.at("errors").as_array();
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].as_object().at("field").as_string(), "name");
  EXPECT_EQ(errors[0].as_object().at("message").as_string(), "is required");
  EXPECT_EQ(errors[1].as_object().at("field").as_string(), "colour");
  EXPECT_EQ(errors[1].as_object().at("message").as_string(), "is not a known field");
  EXPECT_EQ(errors[0].as_object().size(), 2u);
}

TEST(Problem, DetailIsJsonEscaped) {
  std::string detail = "a \"quoted\" \\ value\nwith a newline and \x01";
  Response r = problem(400, "bad-request", detail, {{"f\"", "m\n"}});
  json::object b = body_of(r);  // throws if the body is not valid JSON
  EXPECT_EQ(b.at("detail").as_string(), detail);
  EXPECT_EQ(b.at("errors").as_array()[0].as_object().at("field").as_string(), "f\"");
}

TEST(Problem, ValidationProblem) {
  Response r = validation_problem({{"limit", "must be an integer from 1 to 1000"}});
  EXPECT_EQ(r.status, 422);
  json::object b = body_of(r);
  EXPECT_EQ(b.at("type").as_string(), "urn:daisy:problem:validation-failed");
  EXPECT_EQ(b.at("title").as_string(), "Unprocessable Content");
  EXPECT_EQ(b.at("detail").as_string(), "The request has invalid fields.");
  EXPECT_EQ(b.at("errors").as_array().size(), 1u);
  EXPECT_EQ(body_of(validation_problem({{"a", "b"}}, "Invalid query parameter.")).at("detail").as_string(),
            "Invalid query parameter.");
}

TEST(Problem, NotFound) {
  Response r = not_found("app 0193");
  EXPECT_EQ(r.status, 404);
  json::object b = body_of(r);
  EXPECT_EQ(b.at("type").as_string(), "urn:daisy:problem:not-found");
  EXPECT_EQ(b.at("detail").as_string(), "app 0193 was not found.");
}

TEST(Problem, StatusReasons) {
  EXPECT_EQ(status_reason(100), "Continue");
  EXPECT_EQ(status_reason(200), "OK");
  EXPECT_EQ(status_reason(201), "Created");
  EXPECT_EQ(status_reason(204), "No Content");
  EXPECT_EQ(status_reason(400), "Bad Request");
  EXPECT_EQ(status_reason(401), "Unauthorized");
  EXPECT_EQ(status_reason(403), "Forbidden");
  EXPECT_EQ(status_reason(404), "Not Found");
  EXPECT_EQ(status_reason(405), "Method Not Allowed");
  EXPECT_EQ(status_reason(408), "Request Timeout");
  EXPECT_EQ(status_reason(409), "Conflict");
  EXPECT_EQ(status_reason(413), "Content Too Large");
  EXPECT_EQ(status_reason(415), "Unsupported Media Type");
  EXPECT_EQ(status_reason(422), "Unprocessable Content");
  EXPECT_EQ(status_reason(429), "Too Many Requests");
  EXPECT_EQ(status_reason(431), "Request Header Fields Too Large");
  EXPECT_EQ(status_reason(500), "Internal Server Error");
  EXPECT_EQ(status_reason(503), "Service Unavailable");
  EXPECT_EQ(status_reason(505), "HTTP Version Not Supported");
  EXPECT_EQ(status_reason(299), "Unknown");
  EXPECT_EQ(status_reason(0), "Unknown");
}

TEST(Problem, TitleFollowsStatus) {
  for (int status : {400, 401, 403, 405, 408, 413, 415, 431, 500, 503}) {
    json::object b = body_of(problem(status, "x", "y"));
    EXPECT_EQ(b.at("title").as_string(), status_reason(status));
    EXPECT_EQ(b.at("status").as_int64(), status);
  }
}

}  // namespace
