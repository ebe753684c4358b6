#pragma once
// RFC 9457 problem details: the body of every error reply.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "domain/field_error.h"
#include "http/request.h"

namespace daisy::http {

using daisy::FieldError;

// The members of a problem document, for replies that add their own
// extension members (RFC 9457 allows them) before sending it.
boost::json::object problem_body(int status, std::string_view slug, std::string_view detail,
                                 const std::vector<FieldError>& errors = {});

// type is "urn:daisy:problem:<slug>"; title is the standard phrase of the status.
Response problem(int status, std::string_view slug, std::string_view detail,
                 const std::vector<FieldError>& errors = {});

Response validation_problem(std::vector<FieldError> errors,
                            std::string_view detail = "The request has invalid fields.");
Response not_found(std::string_view what);
// 401 with WWW-Authenticate: Bearer (error="invalid_token" when a token was given but is not valid).
Response unauthorized(std::string_view detail, bool invalid_token);

std::string_view status_reason(int status);

}  // namespace daisy::http
