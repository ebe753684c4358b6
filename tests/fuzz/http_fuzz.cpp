// The bytes a client sends on one connection, read the way
// Server::Impl::serve (src/http/server.cpp) reads them: a fresh Beast
// request_parser per request (header limit and body limits from ServerConfig's
// defaults), the header first, our router's match on its path, the body limit
// the route decides, the Content-Length refusal, then the body; pipelined
// requests are the next bytes of the same buffer, until an error or a request
// that does not keep the connection alive. The socket is a stream that hands
// out the input in pieces (one of a few cut patterns, chosen from the input),
// so requests split across reads are parsed as they are on the network.

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "http/problem.h"
#include "http/request.h"
#include "http/router.h"
#include "http/server.h"
#include "util/ascii.h"

namespace {

using namespace daisy::http;
using daisy::iequals;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

// A SyncReadStream over the fuzz input. read_some hands out at most the next
// cut's worth of bytes, then asio::error::eof once everything has been read
// (the client closed its side).
class InputStream {
 public:
  InputStream(std::string_view data, unsigned pattern) : data_(data), pattern_(pattern) {}

  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers, boost::system::error_code& ec) {
    if (data_.empty()) {
      ec = boost::asio::error::eof;
      return 0;
    }
    ec = {};
    std::size_t n = std::min(next_cut(), data_.size());
    n = boost::asio::buffer_copy(buffers, boost::asio::buffer(data_.data(), n));
    data_.remove_prefix(n);
    return n;
  }

  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers) {
    boost::system::error_code ec;
    std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  std::size_t next_cut() {
    static constexpr std::array<std::size_t, 7> odd_cuts{1, 3, 2, 7, 13, 64, 5};
    switch (pattern_) {
      case 0:
        return SIZE_MAX;  // everything that fits: the usual case on a LAN
      case 1:
        return 1;  // a byte at a time
      case 2:
        return odd_cuts[reads_++ % odd_cuts.size()];
      default:
        return 1460;  // one TCP segment's payload
    }
  }

  std::string_view data_;
  unsigned pattern_;
  std::size_t reads_ = 0;
};

Response ok(Request&) { return Response(200, "{}"); }

// The API's routes and their options, as src/api/*.cpp register them
// (register_routes). Keep in step when routes change; the handlers are never
// called here.
Router make_router() {
  Router r;
  RouteOptions json_body;
  json_body.content_types = {"application/json"};
  RouteOptions events;
  events.batch = true;
  events.content_types = {"application/json", "application/x-ndjson"};
  const RouteOptions none;
  struct Entry {
    Method method;
    const char* pattern;
    Access access;
    const RouteOptions* options;
  };
  const Entry entries[] = {
      {Method::get, "/healthz", Access::public_, &none},
      {Method::get, "/readyz", Access::public_, &none},
      {Method::get, "/metrics", Access::public_, &none},
      {Method::get, "/openapi.yaml", Access::public_, &none},
      {Method::post, "/v1/apps", Access::admin, &json_body},
      {Method::get, "/v1/apps", Access::admin, &none},
      {Method::get, "/v1/apps/{id}", Access::admin, &none},
      {Method::patch, "/v1/apps/{id}", Access::admin, &json_body},
      {Method::del, "/v1/apps/{id}", Access::admin, &none},
      {Method::post, "/v1/apps/{id}/token", Access::admin, &none},
      {Method::post, "/v1/forms", Access::admin, &json_body},
      {Method::get, "/v1/forms", Access::admin, &none},
      {Method::get, "/v1/forms/{id}", Access::admin, &none},
      {Method::patch, "/v1/forms/{id}", Access::admin, &json_body},
      {Method::del, "/v1/forms/{id}", Access::admin, &none},
      {Method::get, "/v1/forms/{id}/questions", Access::admin, &none},
      {Method::post, "/v1/forms/{id}/questions", Access::admin, &json_body},
      {Method::get, "/v1/forms/{id}/questions/{key}", Access::admin, &none},
      {Method::patch, "/v1/forms/{id}/questions/{key}", Access::admin, &json_body},
      {Method::del, "/v1/forms/{id}/questions/{key}", Access::admin, &none},
      {Method::post, "/v1/forms/{id}/responses", Access::app_or_admin, &json_body},
      {Method::get, "/v1/forms/{id}/responses", Access::admin, &none},
      {Method::get, "/v1/forms/{id}/responses/export", Access::admin, &none},
      {Method::get, "/v1/forms/{id}/responses/{rid}", Access::admin, &none},
      {Method::put, "/v1/forms/{id}/responses/{rid}", Access::app_or_admin, &json_body},
      {Method::get, "/v1/forms/{id}/responses/{rid}/revisions", Access::admin, &none},
      {Method::post, "/v1/events", Access::app_or_admin, &events},
      {Method::get, "/v1/events", Access::app_or_admin, &none},
      {Method::get, "/v1/events/rejections", Access::admin, &none},
      {Method::get, "/v1/sessions/{session_id}", Access::app_or_admin, &none},
      {Method::get, "/v1/event-types", Access::admin, &none},
      {Method::get, "/v1/event-types/{category}/{name}", Access::admin, &none},
      {Method::put, "/v1/event-types/{category}/{name}", Access::admin, &json_body},
      {Method::del, "/v1/event-types/{category}/{name}", Access::admin, &none},
      {Method::post, "/v1/providers", Access::admin, &json_body},
      {Method::get, "/v1/providers", Access::admin, &none},
      {Method::get, "/v1/providers/{id}", Access::admin, &none},
      {Method::patch, "/v1/providers/{id}", Access::admin, &json_body},
      {Method::del, "/v1/providers/{id}", Access::admin, &none},
      {Method::post, "/v1/providers/{id}/sync", Access::admin, &none},
      {Method::get, "/v1/providers/{id}/syncs", Access::admin, &none},
      {Method::get, "/search", Access::public_, &none},
      {Method::post, "/search", Access::public_, &none},
      {Method::put, "/search", Access::public_, &none},
      {Method::patch, "/search", Access::public_, &none},
      {Method::del, "/search", Access::public_, &none},
      {Method::get, "/v1/items", Access::admin, &none},
      {Method::post, "/v1/integrations", Access::admin, &json_body},
      {Method::get, "/v1/integrations", Access::admin, &none},
      {Method::get, "/v1/integrations/{id}", Access::admin, &none},
      {Method::patch, "/v1/integrations/{id}", Access::admin, &json_body},
      {Method::del, "/v1/integrations/{id}", Access::admin, &none},
      {Method::post, "/v1/integrations/{id}/secret", Access::admin, &none},
      {Method::post, "/v1/integrations/{id}/replay", Access::admin, &json_body},
      {Method::get, "/v1/jobs", Access::admin, &none},
      {Method::get, "/v1/jobs/{id}", Access::admin, &none},
      {Method::post, "/v1/jobs/{id}/retry", Access::admin, &none},
      {Method::post, "/v1/jobs/{id}/cancel", Access::admin, &none},
      {Method::post, "/v1/jobs/{id}/callback", Access::public_, &json_body},
  };
  for (const auto& e : entries) r.add(e.method, e.pattern, e.access, SyncHandler(&ok), *e.options);
  return r;
}

const Router& router() {
  static const Router r = make_router();
  return r;
}

bool is_http_error(const boost::system::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

std::size_t parameters_in(const RoutePattern& p) {
  return static_cast<std::size_t>(std::count_if(p.segments.begin(), p.segments.end(), [](const std::string& s) {
    return s.size() >= 2 && s.front() == '{' && s.back() == '}';
  }));
}

// What the dispatcher and handlers read from a request.
void use_request(const Request& req) {
  for (const char* name : {"Content-Type", "Authorization", "Content-Encoding", "X-Request-Id", "Expect"}) {
    (void)req.header(name);
  }
  for (const char* name : {"limit", "cursor", "from", "to", "since", "fresh", "status"}) {
    if (auto v = req.query_param(name)) FUZZ_CHECK(v->size() <= req.query.size(), "a decoded value only shrinks");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ServerConfig config;  // the limits a server starts with
  std::string_view input = daisy::fuzz::as_text(data, size);
  std::uint32_t hash = 2166136261u;  // FNV-1a: picks the cut pattern
  for (unsigned char c : input) hash = (hash ^ c) * 16777619u;
  InputStream stream(input, hash % 4);
  beast::flat_buffer buffer(config.max_header_bytes + 16 * 1024);  // as Connection's
  const std::size_t largest_body = std::max(config.max_body_bytes, config.max_batch_body_bytes);

  Request req;
  for (int requests = 0; requests < 100; ++requests) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(config.max_header_bytes));
    parser.body_limit(largest_body);
    req.target = req.path = req.query = req.body = req.route = {};
    req.headers.clear();
    req.param_count = 0;

    boost::system::error_code ec;
    std::size_t header_bytes = bhttp::read_header(stream, buffer, parser, ec);
    if (ec) {
      Response refusal;
      if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
        refusal = problem(431, "header-too-large", "The request header is too large.");
      } else if (ec == bhttp::error::body_limit) {
        refusal = problem(413, "body-too-large", "The request body is too large.");
      } else if (is_http_error(ec)) {
        refusal = problem(400, "bad-request", "The request is not valid HTTP/1.1: " + ec.message() + ".");
      }
      return 0;  // the connection ends after a refusal
    }
    FUZZ_CHECK(parser.is_header_done(), "read_header succeeded without a header");
    FUZZ_CHECK(header_bytes <= size, "more header bytes than input");

    auto& msg = parser.get();
    req.method = parse_method(msg.method_string());
    req.target = msg.target();
    auto qmark = req.target.find('?');
    req.path = req.target.substr(0, qmark);
    req.query = qmark == std::string_view::npos ? std::string_view{} : req.target.substr(qmark + 1);
    for (const auto& field : msg) req.headers.emplace_back(field.name_string(), field.value());
    (void)method_name(req.method);

    RouteMatch match = router().match(req.method, req.path, req);
    req.route = match.pattern ? std::string_view(match.pattern->pattern) : std::string_view{};
    if (match.pattern) {
      FUZZ_CHECK(req.param_count == parameters_in(*match.pattern), "one decoded parameter per {name}");
      for (std::size_t i = 0; i < req.param_count; ++i) {
        FUZZ_CHECK(!req.param(i).empty(), "an empty path parameter");
        FUZZ_CHECK(req.param(i).find('/') == std::string::npos || req.path.find('%') != std::string_view::npos,
                   "a parameter holds a '/' only when it was percent-encoded");
      }
    }
    if (match.route) {
      FUZZ_CHECK(match.pattern, "a route without its pattern");
      Method wanted = req.method == Method::head ? Method::get : req.method;
      FUZZ_CHECK(match.route->method == wanted, "the route of another method");
    }
    std::size_t body_limit = config.max_body_bytes;
    if (match.route) {
      const auto& o = match.route->options;
      body_limit = o.max_body ? o.max_body : (o.batch ? config.max_batch_body_bytes : config.max_body_bytes);
    }

    bool close_after = false;
    bool have_body = true;
    if (!parser.is_done()) {
      auto length = parser.content_length();
      if (length && *length > body_limit) {
        (void)problem(413, "body-too-large", "The request body is too large.");
        close_after = true;
        have_body = false;
      } else {
        parser.body_limit(body_limit);
        (void)iequals(req.header("Expect"), "100-continue");
        boost::system::error_code bec;
        bhttp::read(stream, buffer, parser, bec);
        if (bec) {
          if (bec != bhttp::error::body_limit && !is_http_error(bec)) return 0;  // the client went away
          have_body = false;
          close_after = true;
        } else {
          FUZZ_CHECK(parser.is_done(), "read succeeded before the end of the message");
        }
      }
    }

    if (have_body) {
      req.body = msg.body();
      FUZZ_CHECK(req.body.size() <= body_limit, "a body over the route's limit was accepted");
      if (auto length = parser.content_length()) FUZZ_CHECK(req.body.size() == *length, "Content-Length mismatch");
      if (!match.pattern) {
        (void)problem(404, "not-found", "No route matches this path.");
      } else if (!match.route) {
        FUZZ_CHECK(!match.pattern->allow.empty(), "a 405 without Allow");
        (void)problem(405, "method-not-allowed", "allowed: " + match.pattern->allow + ".");
      } else {
        use_request(req);
      }
    }
    bool keep_alive = parser.keep_alive() && !close_after;
    if (!keep_alive) return 0;
  }
  return 0;
}
