#pragma once
// The request and response as handlers see them: plain types with no Beast or
// Asio in sight, so handler translation units compile fast.

#include <boost/asio/awaitable.hpp>

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/principal.h"

namespace daisy::http {

enum class Method { get, head, post, put, patch, del, options, other };

std::string_view method_name(Method m);
Method parse_method(std::string_view s);

// Views into the connection's parser: valid for the lifetime of the handler call.
struct Request {
  Method method = Method::other;
  std::string_view target;  // path and query as received
  std::string_view path;
  std::string_view query;  // without '?'
  std::string_view body;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string request_id;
  Principal principal;
  std::string_view route;  // the matched pattern, e.g. /v1/apps/{id}

  static constexpr std::size_t max_params = 6;
  std::array<std::string, max_params> params;  // percent-decoded path parameters
  std::size_t param_count = 0;

  // The first header with this name (case-insensitive), or empty.
  std::string_view header(std::string_view name) const;
  // A path parameter by position in the pattern.
  const std::string& param(std::size_t i) const { return params[i]; }
  // A query parameter, percent-decoded, or nullopt when absent.
  std::optional<std::string> query_param(std::string_view name) const;
};

struct Response {
  // Appends the next part of a streamed body to `out`; returns false after the
  // last part. Called between writes (on the I/O thread, or a reader, see
  // stream_on_readers): each call must do a bounded amount of work. An
  // exception ends the connection mid-body.
  using Stream = std::function<bool(std::string& out)>;
  // A body without a planned end (Server-Sent Events): each call waits, on
  // the I/O thread, until it has something to append (at most live_wait),
  // and returns false to end the body.
  using Live = std::function<boost::asio::awaitable<bool>(std::string& out)>;

  int status = 200;
  std::string_view content_type = "application/json";  // must point to static storage
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  Stream stream;  // when set, the body is streamed (chunked) instead of `body`
  // The stream's parts are made on the reader pool (set by the dispatcher for
  // routes on the readers); otherwise on the I/O thread.
  bool stream_on_readers = false;
  Live live;  // when set, the body is these parts, chunked, until it returns false

  Response() = default;
  Response(int s, std::string b, std::string_view type = "application/json")
      : status(s), content_type(type), body(std::move(b)) {}
};

std::string percent_decode(std::string_view s, bool plus_is_space);

}  // namespace daisy::http
