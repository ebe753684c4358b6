#include "jobs/kinds/script_http.h"

#include <future>
#include <memory>

namespace daisy::jobs {

namespace {
// Beyond the request's own timeout: should the fetcher stop without calling
// back (it abandons transfers when destroyed), the script is not held.
constexpr std::chrono::seconds callback_grace{5};
}  // namespace

ScriptHttp script_http_through(net::Fetcher& fetcher) {
  return [&fetcher](const ScriptHttpRequest& r) {
    net::FetchRequest request;
    request.url = r.url;
    request.method = r.method;
    request.headers = r.headers;
    request.body = r.body;
    request.timeout = r.timeout;
    request.max_bytes = max_script_reply_bytes;
    request.follow_redirects = false;
    request.keep_headers = true;
    auto done = std::make_shared<std::promise<net::FetchResult>>();
    std::future<net::FetchResult> result = done->get_future();
    fetcher.fetch(std::move(request), [done](net::FetchResult fetched) { done->set_value(std::move(fetched)); });
    ScriptHttpResponse response;
    if (result.wait_for(r.timeout + callback_grace) != std::future_status::ready) {
      response.error = "no answer";
      return response;
    }
    net::FetchResult fetched = result.get();
    response.status = fetched.error.empty() ? fetched.status : 0;
    response.error = fetched.too_large ? "the reply is larger than 1 MiB" : fetched.error;
    response.body = std::move(fetched.body);
    response.headers = std::move(fetched.headers);
    return response;
  };
}

}  // namespace daisy::jobs
