// GET /v1/stream (Server-Sent Events): what is committed reaches open
// streams, filtered and scoped to the caller; Last-Event-ID resumes without a
// gap; a reader too slow for the ring is reset; heartbeats, limits and a stop.
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "harness.h"
#include "postgres_server.h"
#include "suite_support.h"

namespace daisy_e2e {
namespace {

using namespace fx;

struct SseMessage {
  std::string id, event, data;
};

// A client of one stream: reads the head, then decodes the chunked body into
// messages (comments are counted, not returned).
class SseStream {
 public:
  SseStream(const DaisyProcess& server, const std::string& target, const Headers& headers, int receive_buffer = 0)
      : client_(server.port()) {
    if (receive_buffer > 0) setsockopt(client_.fd(), SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    client_.send_raw(build_request("GET", target, headers));
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (raw_.find("\r\n\r\n") == std::string::npos && receive(deadline)) {
    }
    auto end = raw_.find("\r\n\r\n");
    if (end == std::string::npos) return;
    head_ = raw_.substr(0, end);
    raw_.erase(0, end + 4);
    status_ = std::atoi(head_.c_str() + head_.find(' ') + 1);
  }

  int status() const { return status_; }
  const std::string& head() const { return head_; }
  // For a refused stream: the rest of its (Content-Length) body.
  std::string body() {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while ((raw_.empty() || raw_.back() != '\n') && receive(deadline)) {
    }
    return raw_;
  }
  int heartbeats() const { return heartbeats_; }
  bool ended() const { return ended_; }

  // The next message within timeout; nullopt when none came or the stream ended.
  std::optional<SseMessage> next(std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto m = take()) return m;
      if (ended_ || !receive(deadline)) return std::nullopt;
    }
  }

  // Every message until the stream ends (or timeout).
  std::vector<SseMessage> until_end(std::chrono::milliseconds timeout = 20s) {
    std::vector<SseMessage> out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!ended_ && std::chrono::steady_clock::now() < deadline) {
      if (auto m =
              next(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())))
        out.push_back(std::move(*m));
    }
    while (auto m = take()) out.push_back(std::move(*m));
    return out;
  }

 private:
  bool receive(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{client_.fd(), POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[65536];
    ssize_t n = recv(client_.fd(), buf, sizeof buf, 0);
    if (n <= 0) {
      ended_ = true;
      return false;
    }
    raw_.append(buf, static_cast<std::size_t>(n));
    if (status_ != 0) dechunk();
    return true;
  }

  void dechunk() {
    for (;;) {
      auto line_end = raw_.find("\r\n");
      if (line_end == std::string::npos) return;
      std::size_t size = std::strtoul(raw_.substr(0, line_end).c_str(), nullptr, 16);
      if (size == 0) {
        ended_ = true;
        raw_.clear();
        return;
      }
      if (raw_.size() < line_end + 2 + size + 2) return;
      text_.append(raw_, line_end + 2, size);
      raw_.erase(0, line_end + 2 + size + 2);
    }
  }

  std::optional<SseMessage> take() {
    for (;;) {
      auto end = text_.find("\n\n");
      if (end == std::string::npos) return std::nullopt;
      std::string block = text_.substr(0, end);
      text_.erase(0, end + 2);
      SseMessage m;
      bool any = false;
      std::size_t at = 0;
      while (at <= block.size()) {
        auto nl = block.find('\n', at);
        std::string line = block.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
        at = nl == std::string::npos ? block.size() + 1 : nl + 1;
        if (line.rfind(": heartbeat", 0) == 0) ++heartbeats_;
        if (line.rfind("id: ", 0) == 0) m.id = line.substr(4), any = true;
        if (line.rfind("event: ", 0) == 0) m.event = line.substr(7), any = true;
        if (line.rfind("data: ", 0) == 0) m.data = line.substr(6), any = true;
      }
      if (any) return m;
    }
  }

  Client client_;
  std::string raw_, head_, text_;
  int status_ = 0;
  int heartbeats_ = 0;
  bool ended_ = false;
};

std::string stream_path(std::string_view query = "") {
  return query.empty() ? "/v1/stream" : "/v1/stream?" + std::string(query);
}

class StreamTest : public SharedServer<StreamTest> {
 public:
  static DaisyProcess::Options options() { return {{"--stream-heartbeat-ms", "300", "--allow-private-targets"}}; }

 protected:
  static std::string a_form() {
    json::object def;
    def["title"] = "stream";
    def["questions"] = J(R"([{"key":"n","type":"integer"}])");
    def["rules"] = J(R"([{"name":"small","check":"n < 10","message":"n is large","on_fail":"flag"}])");
    return create_form_id(server(), def);
  }

  static HttpResponse send_event(const App& app, std::string_view category, std::string_view name) {
    std::string event = R"({"session_id":"0193a1b2-c3d4-7000-8000-123456789abc","category":")" + std::string(category) +
                        R"(","name":")" + std::string(name) + R"(","data":{"n":1},"timestamp":"2026-01-01T10:00:00Z"})";
    return server().request("POST", "/v1/events", token_json(app.token), event);
  }
};

TEST_F(StreamTest, ResponsesEventsAndRejectionsArriveAsTheyAreCommitted) {
  App app = make_app(server(), "streamed");
  std::string form = a_form();
  SseStream stream(server(), stream_path("app_id=" + app.id), server().admin());
  ASSERT_EQ(stream.status(), 200) << stream.head();
  EXPECT_NE(stream.head().find("Content-Type: text/event-stream"), std::string::npos) << stream.head();
  EXPECT_NE(stream.head().find("Cache-Control: no-store"), std::string::npos) << stream.head();

  HttpResponse submitted = submit(server(), form, J(R"({"n":12})"), {}, app.token);
  ASSERT_EQ(submitted.status, 201) << submitted.summary();
  auto created = stream.next();
  ASSERT_TRUE(created);
  EXPECT_EQ(created->event, "response.created");
  json::value data = J(created->data);
  EXPECT_EQ(str(data, "id"), str(submitted.json(), "id"));
  EXPECT_EQ(str(data, "status"), "flagged");
  EXPECT_EQ(str(data, "form_id"), form);

  HttpResponse corrected = correct(server(), form, str(submitted.json(), "id"), J(R"({"n":3})"), app.token);
  ASSERT_EQ(corrected.status, 200) << corrected.summary();
  auto updated = stream.next();
  ASSERT_TRUE(updated);
  EXPECT_EQ(updated->event, "response.updated");
  EXPECT_EQ(num(J(updated->data), "revision"), 2);
  EXPECT_EQ(str(J(updated->data), "status"), str(corrected.json(), "status")) << corrected.body;

  ASSERT_EQ(send_event(app, "ui", "click").status, 202);
  auto event = stream.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->event, "event.created");
  EXPECT_EQ(str(J(event->data), "name"), "click");

  HttpResponse bad = server().request("POST", "/v1/events", token_json(app.token), R"({"category":"ui"})");
  ASSERT_EQ(bad.status, 422) << bad.summary();
  auto rejected = stream.next();
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->event, "event.rejected");
  EXPECT_EQ(str(J(rejected->data), "app_id"), app.id);
  EXPECT_FALSE(arr(J(rejected->data), "errors").empty()) << rejected->data;

  // Ids are "<epoch>-<n>", n rising.
  std::vector<std::string> ids{created->id, updated->id, event->id, rejected->id};
  std::uint64_t previous = 0;
  for (const auto& id : ids) {
    auto dash = id.find('-');
    ASSERT_NE(dash, std::string::npos) << id;
    EXPECT_EQ(id.substr(0, dash), ids[0].substr(0, ids[0].find('-')));
    std::uint64_t n = std::stoull(id.substr(dash + 1));
    EXPECT_GT(n, previous) << id;
    previous = n;
  }
}

TEST_F(StreamTest, FiltersNarrowWhatAStreamCarries) {
  App app = make_app(server(), "filtered");
  std::string form = a_form(), other_form = a_form();
  SseStream by_form(server(), stream_path("form_id=" + form), server().admin());
  SseStream by_category(server(), stream_path("types=event.created&category=checkout&app_id=" + app.id),
                        server().admin());
  ASSERT_EQ(by_form.status(), 200);
  ASSERT_EQ(by_category.status(), 200);

  ASSERT_EQ(submit(server(), other_form, J(R"({"n":1})"), {}, app.token).status, 201);
  ASSERT_EQ(send_event(app, "ui", "click").status, 202);
  ASSERT_EQ(send_event(app, "checkout", "paid").status, 202);
  HttpResponse mine = submit(server(), form, J(R"({"n":2})"), {}, app.token);
  ASSERT_EQ(mine.status, 201);

  auto first_of_form = by_form.next();
  ASSERT_TRUE(first_of_form);
  EXPECT_EQ(first_of_form->event, "response.created");
  EXPECT_EQ(str(J(first_of_form->data), "id"), str(mine.json(), "id"));
  auto first_of_category = by_category.next();
  ASSERT_TRUE(first_of_category);
  EXPECT_EQ(str(J(first_of_category->data), "name"), "paid");
  // Nothing else matched either stream (heartbeats come meanwhile).
  EXPECT_FALSE(by_form.next(1s));
  EXPECT_FALSE(by_category.next(1s));
  EXPECT_GT(by_form.heartbeats(), 0);
}

TEST_F(StreamTest, AnAppSeesOnlyItsOwnResponsesAndEvents) {
  App mine = make_app(server(), "mine"), theirs = make_app(server(), "theirs");
  std::string form = a_form();
  SseStream stream(server(), stream_path(), bearer(mine.token));
  ASSERT_EQ(stream.status(), 200) << stream.head();
  ASSERT_EQ(submit(server(), form, J(R"({"n":1})"), {}, theirs.token).status, 201);
  ASSERT_EQ(send_event(theirs, "ui", "theirs").status, 202);
  ASSERT_EQ(send_event(mine, "ui", "mine").status, 202);
  auto m = stream.next();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->event, "event.created");
  EXPECT_EQ(str(J(m->data), "name"), "mine");
  EXPECT_FALSE(stream.next(1s));

  SseStream other_app(server(), stream_path("app_id=" + theirs.id), bearer(mine.token));
  EXPECT_EQ(other_app.status(), 403);
  SseStream jobs(server(), stream_path("types=job.updated"), bearer(mine.token));
  EXPECT_EQ(jobs.status(), 403);
  EXPECT_NE(jobs.body().find("admin token"), std::string::npos);
  SseStream anonymous(server(), stream_path(), {});
  EXPECT_EQ(anonymous.status(), 401);
}

TEST_F(StreamTest, BadParametersAreRefusedNamingTheField) {
  HttpResponse bad_type = server().get(stream_path("types=response.created,nope"), server().admin());
  EXPECT_TRUE(IsValidationError(bad_type, {"types"})) << bad_type.summary();
  HttpResponse empty_form = server().get(stream_path("form_id="), server().admin());
  EXPECT_TRUE(IsValidationError(empty_form, {"form_id"})) << empty_form.summary();
  HttpResponse bad_id = server().get(stream_path(), with(server().admin(), {{"Last-Event-ID", "not-an-id"}}));
  EXPECT_TRUE(IsValidationError(bad_id, {"Last-Event-ID"})) << bad_id.summary();
}

TEST_F(StreamTest, LastEventIdResumesRightAfterItWithoutAGap) {
  App app = make_app(server(), "resumed");
  std::string form = a_form();
  std::string last_id;
  {
    SseStream stream(server(), stream_path("form_id=" + form), server().admin());
    ASSERT_EQ(stream.status(), 200);
    ASSERT_EQ(submit(server(), form, J(R"({"n":0})"), {}, app.token).status, 201);
    auto m = stream.next();
    ASSERT_TRUE(m);
    last_id = m->id;
  }
  // Submitted while no stream is open.
  std::vector<std::string> missed;
  for (int n = 1; n <= 3; ++n) {
    HttpResponse r = submit(server(), form, json::object{{"n", n}}, {}, app.token);
    ASSERT_EQ(r.status, 201);
    missed.push_back(str(r.json(), "id"));
  }
  SseStream resumed(server(), stream_path("form_id=" + form), with(server().admin(), {{"Last-Event-ID", last_id}}));
  ASSERT_EQ(resumed.status(), 200);
  for (const auto& id : missed) {
    auto m = resumed.next();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->event, "response.created");
    EXPECT_EQ(str(J(m->data), "id"), id);
  }
  EXPECT_FALSE(resumed.next(1s));

  // The same through the query (a first connection has no header to send).
  SseStream by_query(server(), stream_path("form_id=" + form + "&last_event_id=" + last_id), server().admin());
  auto first = by_query.next();
  ASSERT_TRUE(first);
  EXPECT_EQ(str(J(first->data), "id"), missed.front());

  // An id without its time (as an earlier version wrote them) of an earlier
  // run cannot be resumed: a gap is said.
  SseStream stale(server(), stream_path("form_id=" + form), with(server().admin(), {{"Last-Event-ID", "1-5"}}));
  auto gap = stale.next();
  ASSERT_TRUE(gap);
  EXPECT_EQ(gap->event, "gap");
}

TEST_F(StreamTest, JobAttemptsAndProviderPullsAreStreamedToTheAdmin) {
  App app = make_app(server(), "jobs");
  // Nothing listens on port 1: each attempt fails at once.
  json::object hook{{"name", "refused"},
                    {"source", json::object{{"app_id", app.id}}},
                    {"type", "webhook"},
                    {"config", json::object{{"url", "http://127.0.0.1:1/hook"}, {"timeout_ms", 1000}}}};
  HttpResponse created = server().request("POST", "/v1/integrations", admin_json(), dump(hook));
  ASSERT_EQ(created.status, 201) << created.summary();
  std::string integration = str(created.json(), "id");
  SseStream stream(server(), stream_path("types=job.updated,sync.finished&integration_id=" + integration),
                   server().admin());
  ASSERT_EQ(stream.status(), 200);
  ASSERT_EQ(send_event(app, "ui", "hooked").status, 202);
  auto job = stream.next(30s);
  ASSERT_TRUE(job);
  EXPECT_EQ(job->event, "job.updated");
  json::value data = J(job->data);
  EXPECT_EQ(str(data, "integration_id"), integration);
  EXPECT_EQ(str(data, "outcome"), "failed");
  EXPECT_EQ(num(data, "attempts"), 1);

  SseStream syncs(server(), stream_path("types=sync.finished"), server().admin());
  json::object provider{
      {"name", "down"}, {"url", "http://127.0.0.1:1/feed.xml"}, {"format", "fever-xml"}, {"interval_s", 3600}};
  HttpResponse p = server().request("POST", "/v1/providers", admin_json(), dump(provider));
  ASSERT_EQ(p.status, 201) << p.summary();
  HttpResponse pulled = server().request("POST", "/v1/providers/" + str(p.json(), "id") + "/sync", server().admin());
  ASSERT_TRUE(pulled.status == 200 || pulled.status == 502) << pulled.summary();
  std::optional<SseMessage> sync;
  while ((sync = syncs.next(20s)) && str(J(sync->data), "provider_id") != str(p.json(), "id")) {
  }
  ASSERT_TRUE(sync);
  EXPECT_EQ(sync->event, "sync.finished");
  EXPECT_FALSE(str(J(sync->data), "error").empty()) << sync->data;
}

TEST_F(StreamTest, QuietStreamsGetHeartbeats) {
  SseStream stream(server(), stream_path("form_id=no-such-form"), server().admin());
  ASSERT_EQ(stream.status(), 200);
  EXPECT_FALSE(stream.next(2s));
  EXPECT_GE(stream.heartbeats(), 2);
  EXPECT_FALSE(stream.ended());
}

class StreamLimitsTest : public OwnedServers {
 protected:
  DaisyProcess& started(std::vector<std::string> args) {
    DaisyProcess& server = make({std::move(args)});
    EXPECT_TRUE(server.start()) << server.start_error();
    return server;
  }
};

TEST_F(StreamLimitsTest, AReaderTooSlowForTheRingIsResetAndMemoryStaysBounded) {
  DaisyProcess& server = started({"--stream-ring", "100"});
  ASSERT_NE(server.port(), 0);
  App app = make_app(server, "flood");
  // A small receive window, and nothing read while thousands of events are
  // published: the stream's writes stall, its place leaves the ring.
  SseStream slow(server, stream_path("types=event.created"), server.admin(), 4096);
  ASSERT_EQ(slow.status(), 200);
  std::string batch = R"({"events":[)";
  for (int i = 0; i < 500; ++i) {
    if (i) batch += ',';
    batch += R"({"session_id":"0193a1b2-c3d4-7000-8000-123456789abc","category":"ui","name":"flood","data":{"pad":")" +
             std::string(400, 'x') + R"("},"timestamp":"2026-01-01T10:00:00Z"})";
  }
  batch += "]}";
  for (int i = 0; i < 40; ++i) {
    HttpResponse r = server.request("POST", "/v1/events", token_json(app.token), batch);
    ASSERT_EQ(r.status, 202) << r.summary();
  }
  auto messages = slow.until_end(60s);
  ASSERT_TRUE(slow.ended());
  ASSERT_FALSE(messages.empty());
  EXPECT_EQ(messages.back().event, "reset");
  EXPECT_LT(messages.size(), 20000u);
  HttpResponse metrics = server.get("/metrics");
  EXPECT_NE(metrics.body.find("daisy_stream_resets_total 1"), std::string::npos);
  EXPECT_NE(metrics.body.find("daisy_streams_open 0"), std::string::npos);
}

// Beyond the ring (here after a restart, which empties it), a resume reads
// back from the store the responses and events since the last message seen.
TEST_F(StreamLimitsTest, AResumeBeyondTheRingReadsBackWhatWasMissedFromTheStore) {
  DaisyProcess& server = started({"--stream-heartbeat-ms", "500"});
  ASSERT_NE(server.port(), 0);
  App app = make_app(server, "replayed");
  json::object def;
  def["title"] = "replayed";
  def["questions"] = J(R"([{"key":"n","type":"integer"}])");
  std::string form = create_form_id(server, def);
  std::string last_id, first;
  {
    SseStream stream(server, stream_path(), server.admin());
    ASSERT_EQ(stream.status(), 200);
    HttpResponse a = submit(server, form, J(R"({"n":1})"));
    ASSERT_EQ(a.status, 201) << a.summary();
    first = str(a.json(), "id");
    auto m = stream.next();
    ASSERT_TRUE(m);
    last_id = m->id;
  }
  ASSERT_TRUE(server.stop().exited);
  ASSERT_TRUE(server.start()) << server.start_error();

  // While no stream is open on the new process: a response, a correction of
  // the first one and an event.
  HttpResponse b = submit(server, form, J(R"({"n":2})"), {}, app.token);
  ASSERT_EQ(b.status, 201) << b.summary();
  ASSERT_EQ(correct(server, form, first, J(R"({"n":3})")).status, 200);
  std::string event = R"({"session_id":"0193a1b2-c3d4-7000-8000-123456789abc","category":"ui","name":"missed",)"
                      R"("data":{"n":1},"timestamp":"2026-01-01T10:00:00Z"})";
  HttpResponse e = server.request("POST", "/v1/events", token_json(app.token), event);
  ASSERT_EQ(e.status, 202) << e.summary();

  // What a resume from last_id brings: everything in `expected` (waited for,
  // the read-back runs on a reader), then whatever else comes within a second.
  auto read_back = [&](const Headers& headers, const std::set<std::string>& expected) {
    SseStream resumed(server, stream_path(), with(headers, {{"Last-Event-ID", last_id}}));
    EXPECT_EQ(resumed.status(), 200) << resumed.head();
    std::set<std::string> seen;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    for (;;) {
      bool all = std::includes(seen.begin(), seen.end(), expected.begin(), expected.end());
      if (!all && std::chrono::steady_clock::now() > deadline) break;
      auto m = resumed.next(all ? 1s : 2s);
      if (!m) {
        if (all) break;
        continue;
      }
      EXPECT_NE(m->event, "gap") << m->data;
      json::value data = J(m->data);
      std::string what = m->event + " " + str(data, "id");
      if (m->event == "response.updated") what += " revision " + std::to_string(num(data, "revision"));
      seen.insert(what);
    }
    return seen;
  };
  const std::string created_b = "response.created " + str(b.json(), "id");
  const std::string corrected_a = "response.updated " + first + " revision 2";
  const std::string created_e = "event.created " + str(e.json(), "id");
  std::set<std::string> admin = read_back(server.admin(), {created_b, corrected_a, created_e});
  EXPECT_TRUE(admin.count(created_b)) << testing::PrintToString(admin);
  EXPECT_TRUE(admin.count(corrected_a)) << testing::PrintToString(admin);
  EXPECT_TRUE(admin.count(created_e)) << testing::PrintToString(admin);
  // An app reads back only its own: not the admin's response.
  std::set<std::string> own = read_back(bearer(app.token), {created_b, created_e});
  EXPECT_TRUE(own.count(created_b)) << testing::PrintToString(own);
  EXPECT_TRUE(own.count(created_e)) << testing::PrintToString(own);
  EXPECT_FALSE(own.count(corrected_a)) << testing::PrintToString(own);
}

TEST_F(StreamLimitsTest, StreamsBeyondTheLimitAreRefusedAndAStopEndsTheOpenOnes) {
  DaisyProcess& server = started({"--max-streams", "1"});
  ASSERT_NE(server.port(), 0);
  SseStream first(server, stream_path(), server.admin());
  ASSERT_EQ(first.status(), 200);
  SseStream second(server, stream_path(), server.admin());
  EXPECT_EQ(second.status(), 503);
  EXPECT_NE(second.head().find("Retry-After:"), std::string::npos) << second.head();

  server.signal(SIGTERM);
  first.until_end(20s);
  EXPECT_TRUE(first.ended());
  // Code 0: the stop finished within its grace (an open stream holding it
  // would have ended the process with 1 when the grace ran out).
  ExitStatus exit = server.wait_exit(30s);
  EXPECT_TRUE(exit.exited && exit.code == 0) << exit.describe();
  EXPECT_EQ(server.err_text().find("grace expired"), std::string::npos);
}

// Two nodes on one PostgreSQL database: a stream on one carries what was
// written through the other (runtime/pg_live_relay: LISTEN/NOTIFY).
class StreamAcrossNodesTest : public OwnedServers {
 protected:
  void SetUp() override {
    if (!on_postgres()) GTEST_SKIP() << "several nodes need PostgreSQL: this runs in the e2e.pg pass";
    std::string error;
    database_ = create_database(*suite_postgres(), error);
    ASSERT_FALSE(database_.empty()) << error;
  }

  DaisyProcess& node() {
    DaisyProcess& d = make({.args = {"--db", database_, "--cluster-poll-ms", "200"}});
    EXPECT_TRUE(d.start()) << d.start_error();
    return d;
  }

  std::string database_;
};

TEST_F(StreamAcrossNodesTest, AStreamOnOneNodeCarriesWhatIsWrittenThroughTheOther) {
  DaisyProcess& writer = node();
  DaisyProcess& reader = node();
  json::object def;
  def["title"] = "relayed";
  def["questions"] = J(R"([{"key":"n","type":"integer"},{"key":"note","type":"text","required":false}])");
  std::string form = create_form_id(writer, def);
  App app = make_app(writer, "relayed");
  SseStream stream(reader, stream_path("types=response.created,event.created&form_id=" + form), reader.admin());
  ASSERT_EQ(stream.status(), 200) << stream.head();

  // The writer makes messages of a kind once it hears that a node wants it (a
  // fraction of a second): submit until the first one comes across.
  std::optional<SseMessage> first;
  std::string first_id;
  ASSERT_TRUE(eventually([&] {
    HttpResponse r = submit(writer, form, J(R"({"n":1})"));
    if (r.status != 201) return false;
    first_id = str(r.json(), "id");
    first = stream.next(300ms);
    return first.has_value();
  })) << "no response written through the other node reached the stream";
  EXPECT_EQ(first->event, "response.created");
  EXPECT_EQ(str(J(first->data), "form_id"), form);
  while (auto more = stream.next(500ms)) {  // the submissions before the first that came across, if any
    EXPECT_EQ(more->event, "response.created");
  }

  // A message larger than one NOTIFY payload (8000 bytes) arrives whole.
  std::string note(20000, 'x');
  for (std::size_t i = 0; i < note.size(); i += 100) note[i] = static_cast<char>('a' + (i / 100) % 26);
  HttpResponse big = submit(writer, form, json::object{{"n", 2}, {"note", note}});
  ASSERT_EQ(big.status, 201) << big.summary();
  auto relayed = stream.next();
  ASSERT_TRUE(relayed);
  json::value data = J(relayed->data);
  EXPECT_EQ(str(data, "id"), str(big.json(), "id"));
  EXPECT_EQ(str(at(data, "answers"), "note"), note);

  // The filter applies to relayed messages: another form's response is not carried.
  json::object other_def;
  other_def["title"] = "other";
  other_def["questions"] = J(R"([{"key":"n","type":"integer"}])");
  std::string other = create_form_id(writer, other_def);
  ASSERT_EQ(submit(writer, other, J(R"({"n":3})")).status, 201);
  HttpResponse last = submit(writer, form, J(R"({"n":4})"));
  ASSERT_EQ(last.status, 201);
  auto next = stream.next();
  ASSERT_TRUE(next);
  EXPECT_EQ(str(J(next->data), "id"), str(last.json(), "id"));

  std::string metrics = writer.get("/metrics").body;
  EXPECT_GE(metric_value(metrics, "daisy_stream_relay_sent_total").value_or(0), 3.0) << metrics.substr(0, 200);
  EXPECT_GE(metric_value(reader.get("/metrics").body, "daisy_stream_relay_received_total").value_or(0), 3.0);
}

}  // namespace
}  // namespace daisy_e2e
