#pragma once
// ctx.http.request for scripts: a blocking call through a Fetcher (the same
// as webhooks': private targets refused unless allowed, size and time
// limits), for a script running on a worker thread. Redirects are not
// followed: a script sees the 3xx and may follow it itself, to an allowed
// host only.

#include "net/fetcher.h"
#include "script/script.h"

namespace daisy::jobs {

inline constexpr std::size_t max_script_reply_bytes = 1024 * 1024;

// The fetcher must outlive every run that uses the result.
ScriptHttp script_http_through(net::Fetcher& fetcher);

}  // namespace daisy::jobs
