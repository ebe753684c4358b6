#pragma once
// Cross-origin requests from pages (CORS), on the routes a publishable key
// may call. The origins are the apps' allowed_origins: a preflight carries no
// credentials, so it is answered for an origin that some app allows; the
// request itself is then checked against its own key's app (dispatcher.cpp).

#include <string_view>
#include <variant>

#include "auth/authenticator.h"
#include "http/request.h"

namespace daisy::http {

// The reply to an OPTIONS preflight: 204, with the CORS headers only when
// the origin is allowed (without them the browser does not send).
Response preflight_reply(std::string_view origin, bool allowed);

// For a request to such a route, once its caller is known: the origin
// whose page may read the reply (empty: none, or no Origin header: not a
// page), or the refusal (403) of a publishable key used from an origin its
// app does not allow. A secret token is never refused for its origin.
std::variant<std::string_view, Response> check_page_origin(const Request& req, const Authenticator& auth);

// Lets the page of an allowed origin read the reply (and its Retry-After).
void add_cors_headers(Response& reply, std::string_view origin);

}  // namespace daisy::http
