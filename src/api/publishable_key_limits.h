#pragma once
// What a publishable key (dpk_...) may do beyond sending: how many events at
// once (its app's token bucket) and which forms it may submit responses to.
// Both answer nothing for other callers: secret tokens and the admin token
// are not limited here.

#include <cstdint>
#include <optional>
#include <string_view>

#include "api/api_context.h"
#include "http/request.h"

namespace daisy::api {

// 429 with Retry-After when the key's bucket lacks `count` events (nothing
// is taken then); nullopt when the request may go on.
std::optional<http::Response> refuse_over_rate(ApiContext& ctx, const Principal& caller, std::int64_t count);

// 403 when a publishable key submits to a form its app did not list in `forms`.
std::optional<http::Response> refuse_unlisted_form(const Principal& caller, std::string_view form_id);

}  // namespace daisy::api
