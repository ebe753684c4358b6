#include "api/publishable_key_limits.h"

#include <algorithm>

#include "auth/key_rate_limiter.h"
#include "http/problem.h"
#include "util/time.h"

namespace daisy::api {

std::optional<http::Response> refuse_over_rate(ApiContext& ctx, const Principal& caller, std::int64_t count) {
  if (!caller.is_publishable() || !ctx.key_limits) return std::nullopt;
  const auto& access = caller.access;
  if (!access) return std::nullopt;  // deleted meanwhile: the write is refused by the store
  auto wait = ctx.key_limits->take(caller.app_id, *access, count, now_ns());
  if (!wait) return std::nullopt;
  http::Response r = http::problem(429, "rate-limited",
                                   "This publishable key sends at most " + std::to_string(access->events_per_second) +
                                       " events a second (burst " + std::to_string(access->burst) + "); retry after " +
                                       std::to_string(*wait) + " s.");
  r.headers.emplace_back("Retry-After", std::to_string(*wait));
  return r;
}

std::optional<http::Response> refuse_unlisted_form(const Principal& caller, std::string_view form_id) {
  if (!caller.is_publishable()) return std::nullopt;
  const auto& access = caller.access;
  if (access && std::find(access->forms.begin(), access->forms.end(), form_id) != access->forms.end()) {
    return std::nullopt;
  }
  return http::problem(403, "forbidden",
                       "This app's publishable key may not submit to this form; list it in the app's forms "
                       "(PATCH /v1/apps/{id}).");
}

}  // namespace daisy::api
