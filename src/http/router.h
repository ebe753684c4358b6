#pragma once
// Maps method and path to a handler. Patterns are literal segments and {name}
// parameters, e.g. /v1/apps/{id}/token. Matching walks the registered patterns
// without allocating; a path that matches a pattern but not its methods is a 405.

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "http/request.h"

namespace daisy::http {

enum class Access {
  public_,  // no token needed
  admin,    // the admin token only
  app_or_admin,
};

using SyncHandler = std::function<Response(Request&)>;
using AsyncHandler = std::function<boost::asio::awaitable<Response>(Request&)>;
using Handler = std::variant<SyncHandler, AsyncHandler>;

struct RouteOptions {
  // Largest accepted body; 0 means the server default (1 MiB unless configured).
  std::size_t max_body = 0;
  // Batch endpoints use the larger batch limit (16 MiB unless configured).
  bool batch = false;
  // Media types the body may have (parameters such as charset ignored). When
  // non-empty, a request with a body of another type is refused with 415.
  std::vector<std::string_view> content_types;
  // The handler inflates gzip bodies itself. Elsewhere a Content-Encoding
  // other than identity is refused with 415, not read as plain bytes.
  bool gzip = false;
  // The handler (a SyncHandler) and its streamed body run on the reader pool,
  // not the I/O thread: for reads whose cost can pass about a millisecond.
  bool on_readers = false;
  // Pages call it with an app's publishable key (dpk_...), cross-origin:
  // the key is accepted here (403 elsewhere), preflights are answered, and
  // an Origin the key's app does not allow is refused (dispatcher.cpp).
  bool publishable = false;
  // The publishable key may come as ?key= instead (navigator.sendBeacon
  // cannot set headers); never a secret token.
  bool key_in_query = false;
};

// The options of a read that runs on the readers.
inline RouteOptions heavy_read() {
  RouteOptions options;
  options.on_readers = true;
  return options;
}

struct Route {
  Method method;
  Access access;
  Handler handler;
  RouteOptions options;
  std::size_t metrics_index = 0;  // position in the metrics registry's route list
};

struct RoutePattern {
  std::string pattern;
  std::vector<std::string> segments;  // "{...}" marks a parameter
  std::vector<Route> routes;
  std::string allow;  // value of the Allow header for 405 replies
};

struct RouteMatch {
  const RoutePattern* pattern = nullptr;  // null: no path matched (404)
  const Route* route = nullptr;           // null with a pattern: wrong method (405)
};

class Router {
 public:
  void add(Method method, std::string_view pattern, Access access, Handler handler, RouteOptions options = {});

  // Fills req.params on a path match. HEAD is served by the GET route.
  RouteMatch match(Method method, std::string_view path, Request& req) const;

  const std::vector<RoutePattern>& patterns() const { return patterns_; }
  // One label per route ("GET /v1/apps/{id}"), indexed by Route::metrics_index.
  const std::vector<std::string>& route_labels() const { return labels_; }

 private:
  std::vector<RoutePattern> patterns_;
  std::vector<std::string> labels_;
};

}  // namespace daisy::http
