// What every route goes through before its handler: authentication, the
// content-type check and the in-flight limit; and what a failing handler gives.
#include "http/dispatcher.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <pthread.h>

#include <stdexcept>

#include "auth/tokens.h"
#include "test_support.h"
#include "util/ascii.h"

namespace {

using namespace daisy;
using namespace daisy::http;
namespace json = boost::json;

const std::string admin_token = "dsy_admin_test-token-0123456789";
const std::string app_token = "dsy_app_test-token-abcdefghij";

std::string type_of(const Response& r) { return std::string(json::parse(r.body).as_object().at("type").as_string()); }
std::string detail_of(const Response& r) {
  return std::string(json::parse(r.body).as_object().at("detail").as_string());
}
std::string header_of(const Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (iequals(k, name)) return v;
  }
  return "<absent>";
}

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auth_.set_admin_hash(hash_token(admin_token));
    auth_.put_app("app-1", hash_token(app_token));
    auto echo_principal = [](Request& req) {
      std::string who = req.principal.is_admin() ? "admin"
                        : req.principal.is_app() ? "app:" + req.principal.app_id
                                                 : "-";
      return Response(200, "\"" + who + "\"");
    };
    router_.add(Method::get, "/public", Access::public_, SyncHandler(echo_principal));
    router_.add(Method::get, "/admin", Access::admin, SyncHandler(echo_principal));
    router_.add(Method::get, "/either", Access::app_or_admin, SyncHandler(echo_principal));
    RouteOptions json_only;
    json_only.content_types = {"application/json"};
    router_.add(Method::post, "/json", Access::admin, SyncHandler(echo_principal), json_only);
    router_.add(Method::get, "/throws", Access::public_,
                SyncHandler([](Request&) -> Response { throw std::runtime_error("boom"); }));
    router_.add(Method::get, "/async", Access::public_,
                AsyncHandler([](Request&) -> boost::asio::awaitable<Response> { co_return Response(202, "{}"); }));
  }

  Response dispatch(Method method, std::string_view path,
                    std::vector<std::pair<std::string_view, std::string_view>> headers = {}, std::string_view body = {},
                    std::size_t max_in_flight = 16) {
    Dispatcher dispatcher(router_, auth_, metrics_, max_in_flight);
    last_ = Request{};
    last_.method = method;
    last_.path = path;
    last_.target = path;
    last_.headers = std::move(headers);
    last_.body = body;
    last_.request_id = "req-42";
    auto match = router_.match(method, path, last_);
    EXPECT_NE(match.route, nullptr) << path;
    if (!match.route) return Response(0, "");
    last_.route = match.pattern->pattern;
    return daisy::test::run_awaitable(dispatcher.dispatch(*match.route, last_));
  }

  static std::pair<std::string_view, std::string_view> bearer(const std::string& header_value) {
    return {"Authorization", header_value};
  }

  Router router_;
  Authenticator auth_;
  Metrics metrics_;
  Request last_;
};

TEST_F(DispatcherTest, PublicRoutesNeedNoToken) {
  Response r = dispatch(Method::get, "/public");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "\"-\"");
}

TEST_F(DispatcherTest, PublicRoutesIgnoreEvenABadToken) {
  std::string h = "Basic nope";
  Response r = dispatch(Method::get, "/public", {bearer(h)});
  EXPECT_EQ(r.status, 200);
}

TEST_F(DispatcherTest, MissingTokenIs401WithPlainChallenge) {
  Response r = dispatch(Method::get, "/admin");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.content_type, "application/problem+json");
  EXPECT_EQ(type_of(r), "urn:daisy:problem:unauthorized");
  EXPECT_EQ(header_of(r, "WWW-Authenticate"), "Bearer");
  EXPECT_EQ(detail_of(r), "This route needs a bearer token: Authorization: Bearer <token>.");
}

TEST_F(DispatcherTest, MalformedAndUnknownTokensAre401InvalidToken) {
  for (std::string h : {"Basic x", "Bearer", "Bearer dsy_app_unknown"}) {
    Response r = dispatch(Method::get, "/admin", {bearer(h)});
    EXPECT_EQ(r.status, 401) << h;
    EXPECT_EQ(header_of(r, "WWW-Authenticate"), "Bearer error=\"invalid_token\"") << h;
  }
  std::string unknown = "Bearer dsy_app_unknown";
  EXPECT_EQ(detail_of(dispatch(Method::get, "/admin", {bearer(unknown)})),
            "The bearer token is not valid (unknown, rotated or deleted).");
}

TEST_F(DispatcherTest, AppTokenOnAdminRouteIs403) {
  std::string h = "Bearer " + app_token;
  Response r = dispatch(Method::get, "/admin", {bearer(h)});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(type_of(r), "urn:daisy:problem:forbidden");
  EXPECT_EQ(header_of(r, "WWW-Authenticate"), "<absent>");
}

TEST_F(DispatcherTest, AdminTokenIsAdmitted) {
  std::string h = "Bearer " + admin_token;
  Response r = dispatch(Method::get, "/admin", {bearer(h)});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "\"admin\"");
  EXPECT_TRUE(last_.principal.is_admin());
}

TEST_F(DispatcherTest, AppOrAdminRoutesTakeEither) {
  std::string app = "Bearer " + app_token, admin = "Bearer " + admin_token;
  EXPECT_EQ(dispatch(Method::get, "/either", {bearer(app)}).body, "\"app:app-1\"");
  EXPECT_EQ(dispatch(Method::get, "/either", {bearer(admin)}).body, "\"admin\"");
  EXPECT_EQ(dispatch(Method::get, "/either").status, 401);
}

TEST_F(DispatcherTest, ContentTypeIsCheckedWhenABodyIsSent) {
  std::string h = "Bearer " + admin_token;
  EXPECT_EQ(dispatch(Method::post, "/json", {bearer(h), {"Content-Type", "application/json"}}, "{}").status, 200);
  EXPECT_EQ(
      dispatch(Method::post, "/json", {bearer(h), {"content-type", "Application/JSON; charset=utf-8"}}, "{}").status,
      200);
  EXPECT_EQ(dispatch(Method::post, "/json", {bearer(h), {"Content-Type", " application/json ;x=y"}}, "{}").status, 200);

  Response wrong = dispatch(Method::post, "/json", {bearer(h), {"Content-Type", "text/plain"}}, "{}");
  EXPECT_EQ(wrong.status, 415);
  EXPECT_EQ(type_of(wrong), "urn:daisy:problem:unsupported-media-type");
  EXPECT_EQ(detail_of(wrong), "Content-Type 'text/plain' is not accepted; send application/json.");

  Response none = dispatch(Method::post, "/json", {bearer(h)}, "{}");
  EXPECT_EQ(none.status, 415);
  EXPECT_EQ(detail_of(none), "The request has no Content-Type; send application/json.");

  // No body and no type: the handler decides. A stated wrong type is refused even without a body.
  EXPECT_EQ(dispatch(Method::post, "/json", {bearer(h)}).status, 200);
  EXPECT_EQ(dispatch(Method::post, "/json", {bearer(h), {"Content-Type", "text/plain"}}).status, 415);
  EXPECT_EQ(dispatch(Method::post, "/json", {bearer(h), {"Content-Type", "application/jsonx"}}, "{}").status, 415);
}

TEST_F(DispatcherTest, AuthenticationComesBeforeTheContentType) {
  Response r = dispatch(Method::post, "/json", {{"Content-Type", "text/plain"}}, "x");
  EXPECT_EQ(r.status, 401);
}

TEST_F(DispatcherTest, OverloadIs503WithRetryAfterOnEveryRoute) {
  Response r = dispatch(Method::get, "/public", {}, {}, /*max_in_flight=*/0);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(type_of(r), "urn:daisy:problem:overloaded");
  EXPECT_EQ(header_of(r, "Retry-After"), "1");
  EXPECT_EQ(metrics_.rejected_overload.load(), 1u);
  EXPECT_EQ(metrics_.in_flight.load(), 0);

  metrics_.in_flight = 2;  // two requests already being handled
  EXPECT_EQ(dispatch(Method::get, "/public", {}, {}, 2).status, 503);
  EXPECT_EQ(dispatch(Method::get, "/public", {}, {}, 3).status, 200);
  EXPECT_EQ(metrics_.in_flight.load(), 2) << "the in-flight count is restored after each request";
  EXPECT_EQ(metrics_.rejected_overload.load(), 2u);
}

TEST_F(DispatcherTest, OverloadIsCheckedAfterAuthentication) {
  EXPECT_EQ(dispatch(Method::get, "/admin", {}, {}, 0).status, 401);
  EXPECT_EQ(metrics_.rejected_overload.load(), 0u);
}

TEST_F(DispatcherTest, AFailingHandlerIs500NamingTheRequestId) {
  Response r = dispatch(Method::get, "/throws");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(type_of(r), "urn:daisy:problem:internal-error");
  EXPECT_NE(detail_of(r).find("req-42"), std::string::npos) << detail_of(r);
  EXPECT_EQ(r.body.find("boom"), std::string::npos) << "the exception text is not shown to the client";
  EXPECT_EQ(metrics_.in_flight.load(), 0);
}

TEST_F(DispatcherTest, AsyncHandlers) {
  Response r = dispatch(Method::get, "/async");
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(metrics_.in_flight.load(), 0);
}

std::string this_threads_name() {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof name);
  return name;
}

TEST(DispatcherReaders, HeavyReadsRunOnTheReadersAndTheirStreamsToo) {
  Router router;
  Authenticator auth;
  Metrics metrics;
  router.add(Method::get, "/heavy", Access::public_, SyncHandler([](Request&) {
               Response r(200, "\"" + this_threads_name() + "\"");
               r.stream = [](std::string& out) { return out.empty(); };
               return r;
             }),
             heavy_read());
  router.add(Method::get, "/light", Access::public_,
             SyncHandler([](Request&) { return Response(200, "\"" + this_threads_name() + "\""); }));
  ReaderPoolSettings settings;
  settings.threads = 1;
  settings.lower_priority = false;
  ReaderPool readers(settings);
  Dispatcher dispatcher(router, auth, metrics, 16, &readers);
  auto run = [&](std::string_view path) {
    Request req;
    req.method = Method::get;
    req.path = path;
    auto match = router.match(Method::get, path, req);
    return daisy::test::run_awaitable(dispatcher.dispatch(*match.route, req));
  };
  Response heavy = run("/heavy");
  EXPECT_EQ(heavy.body, "\"daisy-read-0\"");
  EXPECT_TRUE(heavy.stream_on_readers) << "the server makes the stream's parts on the readers";
  Response light = run("/light");
  EXPECT_NE(light.body, "\"daisy-read-0\"") << "cheap reads stay on the calling thread";
  EXPECT_FALSE(light.stream_on_readers);
}

TEST(DispatcherReaders, BusyReadersAre503WithRetryAfter) {
  Router router;
  Authenticator auth;
  Metrics metrics;
  bool ran = false;
  router.add(Method::get, "/heavy", Access::public_, SyncHandler([&](Request&) {
               ran = true;
               return Response(200, "{}");
             }),
             heavy_read());
  ReaderPoolSettings settings;
  settings.threads = 1;
  settings.max_queued = 0;  // every admission is refused
  settings.lower_priority = false;
  ReaderPool readers(settings);
  Dispatcher dispatcher(router, auth, metrics, 16, &readers);
  Request req;
  req.method = Method::get;
  req.path = "/heavy";
  auto match = router.match(Method::get, "/heavy", req);
  Response r = daisy::test::run_awaitable(dispatcher.dispatch(*match.route, req));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(type_of(r), "urn:daisy:problem:readers-busy");
  EXPECT_EQ(header_of(r, "Retry-After"), "1");
  EXPECT_FALSE(ran);
  EXPECT_EQ(metrics.in_flight.load(), 0);
}

TEST(DispatcherReaders, OnlySynchronousHandlersCanBeMarkedHeavy) {
  Router router;
  EXPECT_THROW(router.add(Method::get, "/x", Access::public_,
                          AsyncHandler([](Request&) -> boost::asio::awaitable<Response> { co_return Response(); }),
                          heavy_read()),
               std::invalid_argument);
}

TEST(DispatcherReplies, NotFoundAndMethodNotAllowed) {
  Response nf = Dispatcher::not_found_reply();
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(type_of(nf), "urn:daisy:problem:not-found");

  Router router;
  router.add(Method::get, "/v1/apps", Access::admin, SyncHandler([](Request&) { return Response(200, "{}"); }));
  router.add(Method::post, "/v1/apps", Access::admin, SyncHandler([](Request&) { return Response(200, "{}"); }));
  Authenticator auth;
  Metrics metrics;
  Dispatcher dispatcher(router, auth, metrics, 16);
  Request req;
  req.method = Method::del;
  Response na = dispatcher.unmatched_method_reply(router.patterns().front(), req);
  EXPECT_EQ(na.status, 405);
  EXPECT_EQ(type_of(na), "urn:daisy:problem:method-not-allowed");
  EXPECT_EQ(header_of(na, "Allow"), "GET, HEAD, POST");
  EXPECT_EQ(detail_of(na), "This path does not accept that method; allowed: GET, HEAD, POST.");
}

}  // namespace
