#include "http/cors.h"

#include <algorithm>

#include "http/problem.h"

namespace daisy::http {

std::variant<std::string_view, Response> check_page_origin(const Request& req, const Authenticator& auth) {
  std::string_view origin = req.header("Origin");
  if (origin.empty() || !req.principal.acts_for_app()) return std::string_view();
  auto access = req.principal.access ? req.principal.access : auth.access(req.principal.app_id);
  bool allowed = access && std::any_of(access->allowed_origins.begin(), access->allowed_origins.end(),
                                       [&](const std::string& pattern) { return origin_matches(pattern, origin); });
  if (allowed) return origin;
  if (!req.principal.is_publishable()) return std::string_view();
  return problem(403, "origin-not-allowed",
                 "This app does not allow pages of this origin to send with its publishable key; add it to the "
                 "app's allowed_origins (PATCH /v1/apps/{id}).",
                 {{"Origin", "is not among the app's allowed_origins"}});
}

Response preflight_reply(std::string_view origin, bool allowed) {
  Response r(204, std::string(), "");
  r.headers.emplace_back("Vary", "Origin");
  if (!allowed) return r;
  r.headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  r.headers.emplace_back("Access-Control-Allow-Methods", "POST, OPTIONS");
  r.headers.emplace_back("Access-Control-Allow-Headers",
                         "Authorization, Content-Type, Content-Encoding, Idempotency-Key");
  r.headers.emplace_back("Access-Control-Max-Age", "600");
  return r;
}

void add_cors_headers(Response& reply, std::string_view origin) {
  reply.headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  reply.headers.emplace_back("Vary", "Origin");
  reply.headers.emplace_back("Access-Control-Expose-Headers", "Retry-After, Idempotent-Replayed");
}

}  // namespace daisy::http
