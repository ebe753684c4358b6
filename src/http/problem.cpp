#include "http/problem.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "util/utf8.h"

namespace daisy::http {

std::string_view status_reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

boost::json::object problem_body(int status, std::string_view slug, std::string_view detail,
                                 const std::vector<FieldError>& errors) {
  boost::json::object body;
  body["type"] = std::string("urn:daisy:problem:") + std::string(slug);
  body["title"] = status_reason(status);
  body["status"] = status;
  // Details and field errors may quote what the client sent (a path
  // parameter, a header): bytes that are not UTF-8 become U+FFFD, so the reply stays JSON.
  body["detail"] = sanitize_utf8(detail);
  if (!errors.empty()) body["errors"] = field_errors_json(errors);
  return body;
}

Response problem(int status, std::string_view slug, std::string_view detail, const std::vector<FieldError>& errors) {
  return Response(status, boost::json::serialize(problem_body(status, slug, detail, errors)),
                  "application/problem+json");
}

Response validation_problem(std::vector<FieldError> errors, std::string_view detail) {
  return problem(422, "validation-failed", detail, errors);
}

Response not_found(std::string_view what) { return problem(404, "not-found", std::string(what) + " was not found."); }

Response unauthorized(std::string_view detail, bool invalid_token) {
  Response r = problem(401, "unauthorized", detail);
  r.headers.emplace_back("WWW-Authenticate", invalid_token ? "Bearer error=\"invalid_token\"" : "Bearer");
  return r;
}

}  // namespace daisy::http
