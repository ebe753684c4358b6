#pragma once
// What happens to a request once its header and body are read: authentication,
// the content-type check, the in-flight limit, then the route's handler. Every
// refusal is a problem+json reply. Independent of the socket layer.

#include <boost/asio/awaitable.hpp>

#include <functional>

#include "auth/authenticator.h"
#include "http/reader_pool.h"
#include "http/router.h"
#include "observability/metrics.h"

namespace daisy::http {

// Runs `read` on the readers (inline without them) and answers its reply, or
// 503 + Retry-After when the readers are busy. A streamed reply's parts are
// then made on the readers too.
boost::asio::awaitable<Response> respond_on_readers(ReaderPool* readers, std::function<Response()> read);
// The 503 readers-busy reply (with Retry-After) of a read the readers refused.
Response readers_busy_reply(ReaderPool::Outcome outcome);

class Dispatcher {
 public:
  // Without readers, routes marked on_readers run on the I/O thread.
  Dispatcher(const Router& router, const Authenticator& auth, Metrics& metrics, std::size_t max_in_flight,
             ReaderPool* readers = nullptr)
      : router_(router), auth_(auth), metrics_(metrics), max_in_flight_(max_in_flight), readers_(readers) {}

  const Router& router() const { return router_; }
  ReaderPool* readers() const { return readers_; }

  // match.route must be set (404 and 405 are answered by the caller).
  boost::asio::awaitable<Response> dispatch(const Route& route, Request& req);

  static Response not_found_reply();
  // 405, or for OPTIONS on a path that pages call, the CORS preflight reply.
  Response unmatched_method_reply(const RoutePattern& pattern, const Request& req) const;

 private:
  // dispatch() once the caller may call the route.
  boost::asio::awaitable<Response> dispatch_allowed(const Route& route, Request& req);

  const Router& router_;
  const Authenticator& auth_;
  Metrics& metrics_;
  std::size_t max_in_flight_;
  ReaderPool* readers_;
};

}  // namespace daisy::http
