// HTTP/1.1 robustness: keep-alive, pipelining, slow and broken clients,
// header limits, Expect: 100-continue, chunked bodies, many connections.
#include <boost/json.hpp>

#include <thread>

#include "harness.h"

namespace daisy_e2e {
namespace {

namespace json = boost::json;

class ProtocolTest : public SharedServer<ProtocolTest> {
 public:
  static DaisyProcess::Options options() { return {}; }

 protected:
  static std::string chunked(std::string_view body, std::size_t piece) {
    std::string out;
    for (std::size_t i = 0; i < body.size(); i += piece) {
      std::string_view part = body.substr(i, piece);
      char size[32];
      std::snprintf(size, sizeof size, "%zx\r\n", part.size());
      out.append(size).append(part).append("\r\n");
    }
    out += "0\r\n\r\n";
    return out;
  }
  static void expect_healthy() {
    HttpResponse r = server().get("/healthz");
    EXPECT_EQ(r.status, 200) << r.summary();
  }
};

TEST_F(ProtocolTest, KeepAliveServesManyRequestsOnOneConnection) {
  Client c = server().connect();
  ASSERT_TRUE(c.connected()) << c.error();
  for (int i = 0; i < 10; ++i) {
    std::string id = "keepalive-" + std::to_string(i);
    std::string target = i % 3 == 2 ? "/missing" : "/healthz";
    HttpResponse r = c.request("GET", target, {{"X-Request-Id", id}});
    ASSERT_EQ(r.status, i % 3 == 2 ? 404 : 200) << i << ": " << r.summary();
    EXPECT_EQ(r.header("X-Request-Id"), id);
    EXPECT_FALSE(iequals(r.header("Connection"), "close")) << i;
  }
  // Authenticated requests and writes on the same connection too.
  HttpResponse created =
      c.request("POST", "/v1/apps", with(server().admin(), json_content()), R"({"name":"keepalive"})");
  EXPECT_EQ(created.status, 201) << created.summary();
  HttpResponse listed = c.request("GET", "/v1/apps?limit=1000", server().admin());
  EXPECT_EQ(listed.status, 200);
  EXPECT_NE(listed.body.find("keepalive"), std::string::npos);
}

TEST_F(ProtocolTest, ConnectionCloseIsHonoured) {
  Client c = server().connect();
  HttpResponse r = c.request("GET", "/healthz", {{"Connection", "close"}});
  ASSERT_EQ(r.status, 200) << r.summary();
  EXPECT_TRUE(iequals(r.header("Connection"), "close"));
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(ProtocolTest, Http10ClosesUnlessKeepAliveIsAsked) {
  {
    Client c = server().connect();
    ASSERT_TRUE(c.send_raw("GET /healthz HTTP/1.0\r\n\r\n"));
    HttpResponse r = c.read_response();
    ASSERT_EQ(r.status, 200) << r.summary();
    EXPECT_EQ(r.body, "{\"status\":\"ok\"}\n");
    EXPECT_TRUE(c.wait_closed());
  }
  {
    Client c = server().connect();
    ASSERT_TRUE(c.send_raw("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    HttpResponse r = c.read_response();
    ASSERT_EQ(r.status, 200) << r.summary();
    EXPECT_TRUE(iequals(r.header("Connection"), "keep-alive"));
    ASSERT_TRUE(c.send_raw("GET /readyz HTTP/1.0\r\n\r\n"));
    EXPECT_EQ(c.read_response().status, 200);
  }
}

TEST_F(ProtocolTest, PipelinedRequestsAreAnsweredInOrder) {
  Client c = server().connect();
  std::string batch = build_request("GET", "/healthz", {{"X-Request-Id", "pipe-1"}}) +
                      build_request("GET", "/nothing-here", {{"X-Request-Id", "pipe-2"}}) +
                      build_request("GET", "/readyz", {{"X-Request-Id", "pipe-3"}});
  ASSERT_TRUE(c.send_raw(batch));  // one write: three requests
  const std::vector<std::pair<std::string, int>> expected = {{"pipe-1", 200}, {"pipe-2", 404}, {"pipe-3", 200}};
  for (const auto& [id, status] : expected) {
    HttpResponse r = c.read_response();
    EXPECT_EQ(r.status, status) << id << ": " << r.summary();
    EXPECT_EQ(r.header("X-Request-Id"), id);
  }
}

TEST_F(ProtocolTest, PipelinedWritesAndReadsKeepTheirOrder) {
  Client c = server().connect();
  Headers admin_json = with(server().admin(), json_content());
  std::string batch =
      build_request("POST", "/v1/apps", with(admin_json, {{"X-Request-Id", "pw-1"}}), R"({"name":"pipelined-a"})") +
      build_request("POST", "/v1/apps", with(admin_json, {{"X-Request-Id", "pw-2"}}), R"({"name":"pipelined-b"})") +
      build_request("GET", "/v1/apps?limit=1000", with(server().admin(), {{"X-Request-Id", "pw-3"}}));
  ASSERT_TRUE(c.send_raw(batch));
  HttpResponse a = c.read_response();
  HttpResponse b = c.read_response();
  HttpResponse list = c.read_response();
  ASSERT_EQ(a.status, 201) << a.summary();
  ASSERT_EQ(b.status, 201) << b.summary();
  ASSERT_EQ(list.status, 200) << list.summary();
  EXPECT_EQ(a.header("X-Request-Id"), "pw-1");
  EXPECT_EQ(b.header("X-Request-Id"), "pw-2");
  EXPECT_EQ(list.header("X-Request-Id"), "pw-3");
  EXPECT_EQ(a.json().at("name").as_string(), "pipelined-a");
  EXPECT_EQ(b.json().at("name").as_string(), "pipelined-b");
  // The list was handled after both writes were acknowledged.
  std::string a_id(a.json().at("id").as_string()), b_id(b.json().at("id").as_string());
  EXPECT_NE(list.body.find(a_id), std::string::npos);
  EXPECT_NE(list.body.find(b_id), std::string::npos);
  EXPECT_LT(list.body.find(a_id), list.body.find(b_id));
}

TEST_F(ProtocolTest, HeaderSentByteByByteIsServed) {
  Client c = server().connect();
  ASSERT_TRUE(c.send_slowly(build_request("GET", "/healthz", {{"X-Request-Id", "slow-but-fine"}}), 3ms));
  HttpResponse r = c.read_response();
  EXPECT_EQ(r.status, 200) << r.summary();
  EXPECT_EQ(r.header("X-Request-Id"), "slow-but-fine");
}

TEST_F(ProtocolTest, BodySentByteByByteIsServed) {
  Client c = server().connect();
  std::string body = R"({"name":"dribble"})";
  std::string request = build_request("POST", "/v1/apps", with(server().admin(), json_content()), body);
  std::string head = request.substr(0, request.size() - body.size());
  ASSERT_TRUE(c.send_raw(head));
  ASSERT_TRUE(c.send_slowly(body, 3ms));
  HttpResponse r = c.read_response();
  ASSERT_EQ(r.status, 201) << r.summary();
  EXPECT_EQ(r.json().at("name").as_string(), "dribble");
}

TEST_F(ProtocolTest, ChunkedRequestBodyIsAccepted) {
  std::string body = R"({"name":"chunked app"})";
  Client c = server().connect();
  std::string head =
      build_request("POST", "/v1/apps",
                    with(server().admin(), {{"Content-Type", "application/json"}, {"Transfer-Encoding", "chunked"}}));
  std::string encoded = chunked(body, 5);
  ASSERT_TRUE(c.send_raw(head));
  // Send the chunks in several writes, splitting inside chunk headers too.
  for (std::size_t i = 0; i < encoded.size(); i += 7) {
    ASSERT_TRUE(c.send_raw(encoded.substr(i, 7)));
    std::this_thread::sleep_for(1ms);
  }
  HttpResponse r = c.read_response();
  ASSERT_EQ(r.status, 201) << r.summary();
  EXPECT_EQ(r.json().at("name").as_string(), "chunked app");
  // The connection is still usable after a chunked body.
  EXPECT_EQ(c.request("GET", "/healthz").status, 200);
}

// Found by the http fuzz target (tests/fuzz/crashes/http/): Boost.Beast
// 1.81 asserts when the last chunk arrives as "0\r\n" | "\r" | "\n", which
// aborted the sanitizer build of the server. The body is read correctly.
TEST_F(ProtocolTest, LastChunkSplitAcrossReadsIsAccepted) {
  Client c = server().connect();
  std::string head =
      build_request("POST", "/v1/apps",
                    with(server().admin(), {{"Content-Type", "application/json"}, {"Transfer-Encoding", "chunked"}}));
  ASSERT_TRUE(c.send_raw(head));
  std::string body = R"({"name":"split end"})";
  char size[16];
  std::snprintf(size, sizeof size, "%zx\r\n", body.size());
  for (std::string piece :
       {std::string(size) + body + "\r\n", std::string("0\r\n"), std::string("\r"), std::string("\n")}) {
    ASSERT_TRUE(c.send_raw(piece));
    std::this_thread::sleep_for(50ms);
  }
  HttpResponse r = c.read_response();
  ASSERT_EQ(r.status, 201) << r.summary();
  EXPECT_EQ(r.json().at("name").as_string(), "split end");
  expect_healthy();
}

TEST_F(ProtocolTest, ExpectContinueGetsInterimReplyThenFinal) {
  Client c = server().connect();
  std::string body = R"({"name":"expectant"})";
  Headers h = with(server().admin(), {{"Content-Type", "application/json"},
                                      {"Expect", "100-continue"},
                                      {"Content-Length", std::to_string(body.size())}});
  ASSERT_TRUE(c.send_raw(build_request("POST", "/v1/apps", h)));
  HttpResponse interim = c.read_response();
  ASSERT_EQ(interim.status, 100) << interim.summary();
  ASSERT_TRUE(c.send_raw(body));
  HttpResponse r = c.read_response();
  ASSERT_EQ(r.status, 201) << r.summary();
  EXPECT_EQ(r.json().at("name").as_string(), "expectant");
  EXPECT_EQ(c.request("GET", "/healthz").status, 200) << "the connection stays usable";
}

TEST_F(ProtocolTest, ExpectContinueOverTheLimitGets413WithoutInterim) {
  Client c = server().connect();
  Headers h = with(server().admin(), {{"Content-Type", "application/json"},
                                      {"Expect", "100-continue"},
                                      {"Content-Length", std::to_string(8 * 1024 * 1024)}});
  ASSERT_TRUE(c.send_raw(build_request("POST", "/v1/apps", h)));
  HttpResponse r = c.read_response();
  EXPECT_TRUE(IsProblem(r, 413, "body-too-large"));
}

TEST_F(ProtocolTest, TruncatedBodyDoesNotHurtTheServer) {
  {
    Client c = server().connect();
    Headers h = with(server().admin(), {{"Content-Type", "application/json"}, {"Content-Length", "100"}});
    ASSERT_TRUE(c.send_raw(build_request("POST", "/v1/apps", h) + R"({"name":")"));
    c.close();
  }
  {
    // Same, but half-closed: the server sees the end of the stream mid-body.
    Client c = server().connect();
    Headers h = with(server().admin(), {{"Content-Type", "application/json"}, {"Content-Length", "100"}});
    ASSERT_TRUE(c.send_raw(build_request("POST", "/v1/apps", h) + R"({"name":")"));
    c.shutdown_write();
    EXPECT_TRUE(c.wait_closed());
  }
  {
    // A chunked body cut inside a chunk.
    Client c = server().connect();
    Headers h = with(server().admin(), {{"Content-Type", "application/json"}, {"Transfer-Encoding", "chunked"}});
    ASSERT_TRUE(c.send_raw(build_request("POST", "/v1/apps", h) + "40\r\n{\"name\""));
    c.shutdown_write();
    EXPECT_TRUE(c.wait_closed());
  }
  expect_healthy();
}

TEST_F(ProtocolTest, ClientClosingMidHeaderDoesNotHurtTheServer) {
  for (std::string partial : {"G", "GET /healthz HTTP/1.1\r\n", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r"}) {
    Client c = server().connect();
    ASSERT_TRUE(c.send_raw(partial));
    c.shutdown_write();
    EXPECT_TRUE(c.wait_closed()) << "the server must close after the end of the stream";
  }
  expect_healthy();
}

TEST_F(ProtocolTest, GarbageGets400AndClose) {
  std::vector<std::string> inputs = {
      "NOT HTTP\r\n\r\n",
      std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11) + "\r\n\r\n",
      "GET /healthz HTTP/9.9\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
      "POST /v1/apps HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "GET\x01 / HTTP/1.1\r\n\r\n",
      "GET /he llo HTTP/1.1\r\n\r\n",
  };
  for (const auto& input : inputs) {
    Client c = server().connect();
    ASSERT_TRUE(c.send_raw(input));
    HttpResponse r = c.read_response();
    EXPECT_TRUE(IsProblem(r, 400, "bad-request")) << "input: " << input.substr(0, 40);
    EXPECT_TRUE(iequals(r.header("Connection"), "close")) << input.substr(0, 40);
    EXPECT_TRUE(c.wait_closed()) << input.substr(0, 40);
  }
  expect_healthy();
}

// RFC 9112: a request with no Host (HTTP/1.1) or two Hosts, or with a
// folded header line, is refused with 400 and the connection closed.
TEST_F(ProtocolTest, HostMustBeThereOnceAndNoLineIsFolded) {
  const std::vector<std::string> inputs = {
      "GET /healthz HTTP/1.1\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
      "GET /healthz HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n\ttwo\r\n\r\n",
      "GET /healthz HTTP/1.1\r\n Host: a\r\n\r\n",
  };
  for (const auto& input : inputs) {
    Client c = server().connect();
    ASSERT_TRUE(c.send_raw(input));
    HttpResponse r = c.read_response();
    EXPECT_TRUE(IsProblem(r, 400, "bad-request")) << "input: " << input << "\n" << r.summary();
    EXPECT_TRUE(c.wait_closed()) << input;
  }
  // One Host is fine; HTTP/1.0 may leave it out.
  Client c = server().connect();
  ASSERT_TRUE(c.send_raw("GET /healthz HTTP/1.1\r\nHost: a\r\nX-Tab:\tvalue\r\n\r\n"));
  EXPECT_EQ(c.read_response().status, 200);
  expect_healthy();
}

TEST_F(ProtocolTest, GarbageAfterAGoodRequestOnTheSameConnection) {
  // A kept-alive connection whose second request is not HTTP.
  Client c = server().connect();
  HttpResponse first = c.request("GET", "/healthz?first=1", {{"X-Request-Id", "before-garbage"}});
  ASSERT_EQ(first.status, 200);
  ASSERT_TRUE(c.send_raw("NOT HTTP\r\n\r\n"));
  HttpResponse r = c.read_response();
  EXPECT_TRUE(IsProblem(r, 400, "bad-request"));
  EXPECT_NE(r.header("X-Request-Id"), "before-garbage") << "a new request id for the refusal";
  EXPECT_TRUE(c.wait_closed());
  expect_healthy();
  // The refusal is logged as a request of its own, with no method.
  EXPECT_TRUE(server().wait_for_err("request_id=" + r.header("X-Request-Id") + " method=- "));
}

TEST_F(ProtocolTest, OversizedHeaderIs431) {
  for (std::size_t size : {std::size_t{20 * 1024}, std::size_t{64 * 1024}}) {
    Client c = server().connect();
    std::string request = build_request("GET", "/healthz", {{"X-Big", std::string(size, 'a')}});
    std::thread writer([&] { c.send_raw(request); });
    HttpResponse r = c.read_response();
    writer.join();
    EXPECT_TRUE(IsProblem(r, 431, "header-too-large")) << size;
    EXPECT_TRUE(c.wait_closed()) << size;
  }
  {
    // Many small fields adding up over the limit.
    Headers many;
    for (int i = 0; i < 400; ++i) many.emplace_back("X-Field-" + std::to_string(i), std::string(60, 'v'));
    Client c = server().connect();
    std::string request = build_request("GET", "/healthz", many);
    std::thread writer([&] { c.send_raw(request); });
    HttpResponse r = c.read_response();
    writer.join();
    EXPECT_TRUE(IsProblem(r, 431, "header-too-large"));
  }
  // Just under the limit is fine.
  HttpResponse ok = server().get("/healthz", {{"X-Big", std::string(12 * 1024, 'a')}});
  EXPECT_EQ(ok.status, 200) << ok.summary();
  expect_healthy();
}

TEST_F(ProtocolTest, FiftyConnectionsAtOnceAreAllAnswered) {
  constexpr int n = 50;
  std::vector<Client> clients;
  clients.reserve(n);
  for (int i = 0; i < n; ++i) {
    clients.emplace_back(server().port());
    ASSERT_TRUE(clients.back().connected()) << i << ": " << clients.back().error();
  }
  for (int i = 0; i < n; ++i) {
    std::string target = i % 2 ? "/healthz" : "/v1/apps?limit=1";
    ASSERT_TRUE(clients[i].send_raw(
        build_request("GET", target, with(server().admin(), {{"X-Request-Id", "many-" + std::to_string(i)}}))));
  }
  for (int i = n - 1; i >= 0; --i) {  // read in the reverse order of sending
    HttpResponse r = clients[i].read_response();
    EXPECT_EQ(r.status, 200) << i << ": " << r.summary();
    EXPECT_EQ(r.header("X-Request-Id"), "many-" + std::to_string(i));
  }
}

TEST_F(ProtocolTest, PercentEncodedIdIsDecoded) {
  HttpResponse created = server().create_app("percent");
  ASSERT_EQ(created.status, 201);
  std::string id(created.json().at("id").as_string());
  std::string encoded;
  for (char ch : id) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(ch));
    encoded += buf;
  }
  HttpResponse r = server().get("/v1/apps/" + encoded, server().admin());
  ASSERT_EQ(r.status, 200) << r.summary();
  EXPECT_EQ(r.json().at("id").as_string(), id);
}

// Short header and body timeouts, for slow clients.
class SlowClientTest : public SharedServer<SlowClientTest> {
 public:
  static DaisyProcess::Options options() { return {{"--header-timeout-ms", "1000", "--body-timeout-ms", "1000"}}; }

 protected:
  // The connection closes (with a 408, or without a reply) within 10 s.
  static void expect_cut_off(Client& c) {
    Client::CloseResult result = c.read_until_close(10s);
    EXPECT_TRUE(result.closed) << "the server kept a stalled connection open for 10 s";
    if (!result.data.empty()) {
      EXPECT_EQ(result.data.rfind("HTTP/1.1 408 ", 0), 0u) << result.data.substr(0, 200);
      EXPECT_NE(result.data.find("urn:daisy:problem:request-timeout"), std::string::npos) << result.data;
    }
  }
};

TEST_F(SlowClientTest, SlowLorisIsCutOffWhileOthersAreServed) {
  double timed_out_before =
      metric_value(server().get("/metrics").body, "daisy_http_connections_timed_out_total").value_or(-1);
  Client loris = server().connect();
  ASSERT_TRUE(loris.send_raw("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
  // Others are served while the loris waits.
  for (int i = 0; i < 5; ++i) {
    HttpResponse r = server().get("/healthz");
    EXPECT_EQ(r.status, 200) << r.summary();
  }
  expect_cut_off(loris);
  EXPECT_EQ(server().get("/healthz").status, 200);
  EXPECT_TRUE(eventually([&] {
    return metric_value(server().get("/metrics").body, "daisy_http_connections_timed_out_total").value_or(-1) >
           timed_out_before;
  })) << "the timeout is counted";
}

TEST_F(SlowClientTest, SlowLorisAfterAGoodRequestIsCutOff) {
  Client loris = server().connect();
  HttpResponse first = loris.request("GET", "/healthz?keep=alive");
  ASSERT_EQ(first.status, 200);
  ASSERT_TRUE(loris.send_raw("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  expect_cut_off(loris);
  EXPECT_EQ(server().get("/healthz").status, 200);
}

TEST_F(SlowClientTest, StalledBodyIsCutOff) {
  Client c = server().connect();
  Headers h = with(server().admin(), {{"Content-Type", "application/json"}, {"Content-Length", "100"}});
  ASSERT_TRUE(c.send_raw(build_request("POST", "/v1/apps", h) + R"({"name":")"));
  expect_cut_off(c);
  EXPECT_EQ(server().get("/healthz").status, 200);
}

TEST_F(SlowClientTest, IdleKeepAliveConnectionOutlivesTheHeaderTimeout) {
  // Between requests the idle timeout (60 s by default) applies, not the
  // header timeout: a connection quiet for longer than 1 s still works.
  Client c = server().connect();
  ASSERT_EQ(c.request("GET", "/healthz").status, 200);
  std::this_thread::sleep_for(1500ms);
  HttpResponse r = c.request("GET", "/healthz");
  EXPECT_EQ(r.status, 200) << r.summary();
}

TEST_F(SlowClientTest, TlsClientHelloIsRejectedAs400) {
  // The start of a TLS 1.2 ClientHello, as a client that mistook http for
  // https sends it. It never contains an empty line, yet the very first byte
  // (0x16) cannot begin an HTTP method.
  const unsigned char hello[] = {0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03,
                                 0x5a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60, 0x71, 0x82, 0x93, 0xa4,
                                 0xb5, 0xc6, 0xd7, 0xe8, 0xf9, 0x00, 0x00, 0x04, 0xc0, 0x2f, 0x00,
                                 0xff, 0x01, 0x00, 0x00, 0x0a, 0x00, 0x0d, 0x00, 0x04, 0x00, 0x02};
  Client c = server().connect();
  ASSERT_TRUE(c.send_raw(std::string_view(reinterpret_cast<const char*>(hello), sizeof hello)));
  HttpResponse r = c.read_response();
  EXPECT_TRUE(IsProblem(r, 400, "bad-request"));
  EXPECT_TRUE(c.wait_closed());
}

// A short idle (keep-alive) timeout.
class IdleTimeoutTest : public SharedServer<IdleTimeoutTest> {
 public:
  static DaisyProcess::Options options() { return {{"--idle-timeout-ms", "1000"}}; }
};

TEST_F(IdleTimeoutTest, IdleConnectionIsClosedSilently) {
  Client c = server().connect();
  ASSERT_EQ(c.request("GET", "/healthz").status, 200);
  Client::CloseResult result = c.read_until_close(10s);
  EXPECT_TRUE(result.closed) << "an idle keep-alive connection outlived its timeout by far";
  EXPECT_EQ(result.data, "") << "no 408 for a connection that was between requests";
}

TEST_F(IdleTimeoutTest, SilentConnectionIsClosed) {
  Client c = server().connect();
  Client::CloseResult result = c.read_until_close(10s);
  EXPECT_TRUE(result.closed);
  EXPECT_EQ(result.data, "");
  EXPECT_EQ(server().get("/healthz").status, 200);
}

// Sockets that connect and never send a byte are closed after the header
// timeout, not the (long) idle timeout: before, enough of them locked every
// client out at --max-connections.
class SilentSocketsTest : public SharedServer<SilentSocketsTest> {
 public:
  static DaisyProcess::Options options() {
    return {{"--max-connections", "5", "--header-timeout-ms", "1000", "--idle-timeout-ms", "600000"}};
  }
};

TEST_F(SilentSocketsTest, SilentSocketsDoNotHoldTheConnectionSlots) {
  std::vector<Client> silent;
  for (int i = 0; i < 5; ++i) silent.push_back(server().connect());
  for (auto& c : silent) {
    Client::CloseResult result = c.read_until_close(20s);
    EXPECT_TRUE(result.closed) << "a socket that never sent a byte was kept past the header timeout";
    EXPECT_EQ(result.data, "");
  }
  EXPECT_TRUE(eventually([&] { return server().get("/healthz").status == 200; }));
}

// A server that accepts at most two connections.
class MaxConnectionsTest : public SharedServer<MaxConnectionsTest> {
 public:
  static DaisyProcess::Options options() { return {{"--max-connections", "2"}}; }
};

TEST_F(MaxConnectionsTest, ConnectionsBeyondTheCapAreClosed) {
  Client a = server().connect();
  Client b = server().connect();
  // A reply on each proves the server has taken both.
  ASSERT_EQ(a.request("GET", "/healthz").status, 200);
  ASSERT_EQ(b.request("GET", "/healthz").status, 200);
  {
    Client extra = server().connect();
    ASSERT_TRUE(extra.connected());  // the kernel accepts; the server closes it
    extra.send_raw(build_request("GET", "/healthz"));
    Client::CloseResult result = extra.read_until_close(10s);
    EXPECT_TRUE(result.closed);
    EXPECT_EQ(result.data, "") << "no reply beyond the cap";
  }
  // The first two still work.
  EXPECT_EQ(a.request("GET", "/healthz").status, 200);
  // Once one closes, a new connection is served again.
  b.close();
  EXPECT_TRUE(eventually([&] {
    Client again = server().connect();
    return again.request("GET", "/healthz").status == 200;
  }));
}

}  // namespace
}  // namespace daisy_e2e
