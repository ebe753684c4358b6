// Process lifecycle: admin token generation, restarts, SIGTERM, kill -9
// durability, and the command line (version, --help, migrate, bad flags).
#include <boost/json.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "postgres_server.h"

namespace daisy_e2e {
namespace {

namespace json = boost::json;

// A temporary directory removed at the end of the test.
struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/daisy-e2e-cli-XXXXXX";
    if (::mkdtemp(tmpl)) path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
  std::string path;
};

std::string project_version() {
  std::ifstream in(std::string(DAISY_SOURCE_DIR) + "/CMakeLists.txt");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  constexpr std::string_view marker = "project(daisy VERSION ";
  auto at = text.find(marker);
  if (at == std::string::npos) return {};
  at += marker.size();
  return text.substr(at, text.find_first_of(" )", at) - at);
}

// Every dsy_admin_ token printed on stdout.
std::vector<std::string> printed_admin_tokens(const std::string& out) {
  std::vector<std::string> tokens;
  std::size_t pos = 0;
  while ((pos = out.find("dsy_admin_", pos)) != std::string::npos) {
    std::size_t end = pos;
    while (end < out.size() &&
           (std::isalnum(static_cast<unsigned char>(out[end])) || out[end] == '_' || out[end] == '-')) {
      ++end;
    }
    tokens.push_back(out.substr(pos, end - pos));
    pos = end;
  }
  return tokens;
}

struct App {
  std::string id, token;
};

App create(const DaisyProcess& d, std::string_view name, const Headers& auth) {
  boost::json::object body{{"name", name}};
  HttpResponse r = d.request("POST", "/v1/apps", with(auth, json_content()), json::serialize(body));
  EXPECT_EQ(r.status, 201) << r.summary();
  if (r.status != 201) return {};
  return {std::string(r.json().at("id").as_string()), std::string(r.json().at("token").as_string())};
}

class LifecycleTest : public OwnedServers {};

TEST_F(LifecycleTest, GeneratedAdminTokenIsPrintedOnceAndKept) {
  DaisyProcess& d = make({{}, false});
  ASSERT_TRUE(d.start()) << d.start_error();
  ASSERT_TRUE(d.wait_for_out("dsy_admin_")) << "stdout: " << d.out_text();
  // The token is printed before the listening line is logged; it is complete by now.
  std::vector<std::string> tokens = printed_admin_tokens(d.out_text());
  ASSERT_EQ(tokens.size(), 1u) << d.out_text();
  const std::string token = tokens[0];
  EXPECT_EQ(token.size(), std::string("dsy_admin_").size() + 43) << token;
  EXPECT_EQ(d.err_text().find(token), std::string::npos) << "the token must not be logged";

  EXPECT_EQ(d.get("/v1/apps", bearer(token)).status, 200);
  EXPECT_EQ(d.get("/v1/apps", bearer(kAdminToken)).status, 401);
  App app = create(d, "made-with-generated-token", bearer(token));

  ExitStatus stopped = d.stop();
  ASSERT_TRUE(stopped.exited && stopped.code == 0) << stopped.describe();
  EXPECT_EQ(printed_admin_tokens(d.out_text()).size(), 1u) << d.out_text();

  ASSERT_TRUE(d.start()) << d.start_error();
  EXPECT_EQ(d.get("/v1/apps", bearer(token)).status, 200) << "the generated token survives a restart";
  EXPECT_EQ(d.get("/v1/apps/" + app.id, bearer(token)).status, 200);
  stopped = d.stop();
  EXPECT_TRUE(stopped.exited && stopped.code == 0) << stopped.describe();
  EXPECT_TRUE(printed_admin_tokens(d.out_text()).empty()) << "printed again on restart: " << d.out_text();
}

TEST_F(LifecycleTest, ConfiguredAdminTokenCanBeChangedOnRestart) {
  DaisyProcess& d = make();
  ASSERT_TRUE(d.start()) << d.start_error();
  EXPECT_EQ(d.get("/v1/apps", d.admin()).status, 200);
  EXPECT_TRUE(d.out_text().find("dsy_admin_") == std::string::npos) << "no token printed when one is given";
  ASSERT_EQ(d.stop().code, 0);

  const std::string other = "another-admin-token-for-e2e-0001";
  EXPECT_EQ(d.err_text().find("replaced the stored one"), std::string::npos) << d.err_text();
  ASSERT_TRUE(d.start({{"--admin-token", other}, false})) << d.start_error();
  EXPECT_NE(
      d.err_text().find("the configured admin token (--admin-token or DAISY_ADMIN_TOKEN) replaced the stored one"),
      std::string::npos)
      << d.err_text();
  EXPECT_EQ(d.get("/v1/apps", bearer(other)).status, 200);
  EXPECT_EQ(d.get("/v1/apps", d.admin()).status, 401) << "the replaced admin token must stop working";
  ASSERT_EQ(d.stop().code, 0);

  // Without --admin-token the last configured one is kept (and none printed).
  ASSERT_TRUE(d.start({{}, false})) << d.start_error();
  EXPECT_EQ(d.get("/v1/apps", bearer(other)).status, 200);
  EXPECT_TRUE(printed_admin_tokens(d.out_text()).empty()) << d.out_text();
}

TEST_F(LifecycleTest, ShortAdminTokenIsRefused) {
  TempDir dir;
  RunResult r = run_daisy({"serve", "--listen", "127.0.0.1:0", "--data-dir", dir.path, "--admin-token", "short"});
  EXPECT_TRUE(r.status.exited && r.status.code != 0) << r.status.describe();
  EXPECT_NE(r.err.find("at least 16"), std::string::npos) << r.err;
}

TEST_F(LifecycleTest, SigtermExitsZeroAndKeepsTheData) {
  DaisyProcess& d = make();
  ASSERT_TRUE(d.start()) << d.start_error();
  App kept = create(d, "survivor", d.admin());
  App deleted = create(d, "deleted", d.admin());
  App rotated = create(d, "rotated", d.admin());
  ASSERT_EQ(d.request("DELETE", "/v1/apps/" + deleted.id, d.admin()).status, 204);
  HttpResponse rot = d.request("POST", "/v1/apps/" + rotated.id + "/token", d.admin());
  ASSERT_EQ(rot.status, 200);
  std::string rotated_token(rot.json().at("token").as_string());

  ExitStatus s = d.stop(SIGTERM);
  ASSERT_TRUE(s.exited) << s.describe();
  EXPECT_EQ(s.code, 0) << s.describe();
  EXPECT_NE(d.err_text().find("msg=stopped"), std::string::npos) << d.err_tail();

  ASSERT_TRUE(d.start()) << d.start_error();
  HttpResponse got = d.get("/v1/apps/" + kept.id, d.admin());
  ASSERT_EQ(got.status, 200) << got.summary();
  EXPECT_EQ(got.json().at("name").as_string(), "survivor");
  HttpResponse list = d.get("/v1/apps", d.admin());
  EXPECT_NE(list.body.find(kept.id), std::string::npos);
  EXPECT_NE(list.body.find(rotated.id), std::string::npos);
  EXPECT_EQ(list.body.find(deleted.id), std::string::npos);
  EXPECT_EQ(d.get("/v1/apps/" + deleted.id, d.admin()).status, 404);
  // Tokens after the restart: live ones authenticate (403: not admin), the
  // deleted app's and the rotated-away one do not.
  EXPECT_EQ(d.get("/v1/apps", bearer(kept.token)).status, 403);
  EXPECT_EQ(d.get("/v1/apps", bearer(rotated_token)).status, 403);
  EXPECT_EQ(d.get("/v1/apps", bearer(rotated.token)).status, 401);
  EXPECT_EQ(d.get("/v1/apps", bearer(deleted.token)).status, 401);
}

TEST_F(LifecycleTest, SigintAlsoStopsCleanly) {
  DaisyProcess& d = make();
  ASSERT_TRUE(d.start()) << d.start_error();
  ASSERT_EQ(d.get("/healthz").status, 200);
  ExitStatus s = d.stop(SIGINT);
  EXPECT_TRUE(s.exited && s.code == 0) << s.describe();
}

TEST_F(LifecycleTest, SigtermClosesIdleKeepAliveConnections) {
  DaisyProcess& d = make();
  ASSERT_TRUE(d.start()) << d.start_error();
  Client idle = d.connect();
  ASSERT_EQ(idle.request("GET", "/healthz").status, 200);
  Client never_sent = d.connect();
  ExitStatus s = d.stop(SIGTERM);
  EXPECT_TRUE(s.exited && s.code == 0) << s.describe();
  EXPECT_TRUE(idle.wait_closed(5s));
  EXPECT_TRUE(never_sent.wait_closed(5s));
}

TEST_F(LifecycleTest, SigtermDoesNotWaitForeverForAStalledClient) {
  // A client stuck mid-header (header timeout 60 s) is closed at half the
  // shutdown grace (2 s), and the process then stops cleanly.
  DaisyProcess& d = make({{"--shutdown-grace-ms", "2000", "--header-timeout-ms", "60000"}, true});
  ASSERT_TRUE(d.start()) << d.start_error();
  Client stalled = d.connect();
  ASSERT_TRUE(stalled.send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
  ASSERT_EQ(d.get("/healthz").status, 200);
  ExitStatus s = d.stop(SIGTERM, 60s);
  EXPECT_TRUE(s.exited && s.code == 0) << s.describe();
  EXPECT_TRUE(stalled.wait_closed(5s));
}

TEST_F(LifecycleTest, SigtermLetsARequestInProgressFinish) {
  DaisyProcess& d = make();
  ASSERT_TRUE(d.start()) << d.start_error();
  Client c = d.connect();
  std::string body = R"({"name":"in-flight at shutdown"})";
  ASSERT_TRUE(begin_held_request(c, "/v1/apps", body.size()));
  d.signal(SIGTERM);
  ASSERT_TRUE(d.wait_for_err("msg=\"stopping\"")) << d.err_tail();
  ASSERT_TRUE(c.send_raw(body));
  HttpResponse r = c.read_response();
  ASSERT_EQ(r.status, 201) << r.summary();
  std::string id(r.json().at("id").as_string());
  EXPECT_TRUE(c.wait_closed()) << "the connection closes after the reply during a stop";
  ExitStatus s = d.wait_exit(60s);
  EXPECT_TRUE(s.exited && s.code == 0) << s.describe();

  ASSERT_TRUE(d.start()) << d.start_error();
  EXPECT_EQ(d.get("/v1/apps/" + id, d.admin()).status, 200) << "the acknowledged app was kept";
}

TEST_F(LifecycleTest, AcknowledgedWritesSurviveKill9) {
  DaisyProcess& d = make();
  ASSERT_TRUE(d.start()) << d.start_error();
  constexpr int threads = 4, per_thread = 5;
  std::vector<std::vector<App>> created(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      Client c = d.connect();
      for (int i = 0; i < per_thread; ++i) {
        std::string body = R"({"name":"durable-)" + std::to_string(t) + "-" + std::to_string(i) + R"("})";
        HttpResponse r = c.request("POST", "/v1/apps", with(d.admin(), json_content()), body);
        if (r.status != 201) {
          ADD_FAILURE() << r.summary();
          return;
        }
        json::value v = r.json();
        created[t].push_back({std::string(v.at("id").as_string()), std::string(v.at("token").as_string())});
      }
    });
  }
  for (auto& w : workers) w.join();
  ExitStatus killed = d.kill9();  // right after the last 201
  EXPECT_EQ(killed.signal, SIGKILL) << killed.describe();

  std::vector<App> all;
  for (const auto& v : created) all.insert(all.end(), v.begin(), v.end());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(threads * per_thread));

  ASSERT_TRUE(d.start()) << d.start_error();
  HttpResponse list = d.get("/v1/apps?limit=1000", d.admin());
  ASSERT_EQ(list.status, 200);
  std::set<std::string> listed;
  json::value page = list.json();
  for (const auto& item : page.at("items").as_array()) listed.emplace(item.at("id").as_string());
  for (const auto& app : all) {
    EXPECT_EQ(listed.count(app.id), 1u) << "acknowledged app lost after kill -9: " << app.id;
    EXPECT_EQ(d.get("/v1/apps/" + app.id, d.admin()).status, 200) << app.id;
    EXPECT_EQ(d.get("/v1/apps", bearer(app.token)).status, 403) << "its token survives too";
  }
  EXPECT_EQ(listed.size(), all.size());
}

TEST_F(LifecycleTest, Kill9AfterDeleteAndRotateKeepsThem) {
  DaisyProcess& d = make();
  ASSERT_TRUE(d.start()) << d.start_error();
  App gone = create(d, "gone", d.admin());
  App turned = create(d, "turned", d.admin());
  ASSERT_EQ(d.request("DELETE", "/v1/apps/" + gone.id, d.admin()).status, 204);
  HttpResponse rot = d.request("POST", "/v1/apps/" + turned.id + "/token", d.admin());
  ASSERT_EQ(rot.status, 200);
  std::string fresh(rot.json().at("token").as_string());
  d.kill9();
  ASSERT_TRUE(d.start()) << d.start_error();
  EXPECT_EQ(d.get("/v1/apps/" + gone.id, d.admin()).status, 404);
  EXPECT_EQ(d.get("/v1/apps", bearer(gone.token)).status, 401);
  EXPECT_EQ(d.get("/v1/apps", bearer(turned.token)).status, 401);
  EXPECT_EQ(d.get("/v1/apps", bearer(fresh)).status, 403);
}

TEST_F(LifecycleTest, SecondServerOnTheSamePortFails) {
  DaisyProcess& first = make();
  ASSERT_TRUE(first.start()) << first.start_error();
  DaisyProcess& second = make({{"--listen", "127.0.0.1:" + std::to_string(first.port())}, true});
  EXPECT_FALSE(second.start()) << "a second server bound the port in use";
  EXPECT_NE(
      second.err_text().find("cannot listen on 127.0.0.1:" + std::to_string(first.port()) + ": Address already in use"),
      std::string::npos)
      << second.err_text();
  EXPECT_EQ(first.get("/healthz").status, 200);
}

// A first start that cannot listen must not generate the admin token (it
// would be shown once and then lost): the token comes with the first start
// that serves. The error is one readable line, without library internals.
TEST_F(LifecycleTest, AStartThatCannotListenKeepsTheTokenForTheNextStart) {
  DaisyProcess& first = make();
  ASSERT_TRUE(first.start()) << first.start_error();
  DaisyProcess& d = make({{"--listen", "127.0.0.1:" + std::to_string(first.port())}, false});
  EXPECT_FALSE(d.start());
  EXPECT_TRUE(printed_admin_tokens(d.out_text()).empty()) << d.out_text();
  std::string err = d.err_text();
  EXPECT_NE(err.find("cannot listen on"), std::string::npos) << err;
  for (std::string_view internal : {"/usr/include", "boost", "function", ".hpp"}) {
    EXPECT_EQ(err.find(internal), std::string::npos) << internal << " in:\n" << err;
  }

  ASSERT_TRUE(d.start({{}, false})) << d.start_error();
  std::vector<std::string> tokens = printed_admin_tokens(d.out_text());
  ASSERT_EQ(tokens.size(), 1u) << d.out_text();
  EXPECT_EQ(d.get("/v1/apps", bearer(tokens[0])).status, 200);
}

// A data dir belongs to one process: a second serve (or a migrate or token
// reset, which write its SQLite database) is refused, naming the holder's
// pid. The lock goes with the process, kill -9 included.
TEST_F(LifecycleTest, ASecondProcessOnTheSameDataDirIsRefused) {
  DaisyProcess& d = make();
  ASSERT_TRUE(d.start()) << d.start_error();
  std::string expected =
      "the data dir " + d.data_dir() + " is in use by another daisy process (pid " + std::to_string(d.pid()) + ")";
  std::vector<std::string> serve{"serve", "--listen", "127.0.0.1:0", "--admin-token", std::string(kAdminToken)};
  for (std::string& a : d.store_args()) serve.push_back(std::move(a));
  RunResult second = run_daisy(serve, 30s);
  EXPECT_TRUE(second.status.exited && second.status.code == 1) << second.status.describe();
  EXPECT_NE(second.err.find(expected), std::string::npos) << second.err;
  if (!on_postgres()) {
    for (std::string command : {"migrate", "admin-token"}) {
      std::vector<std::string> args{command, "--data-dir", d.data_dir()};
      if (command == "admin-token") args.push_back("--reset");
      RunResult r = run_daisy(args, 30s);
      EXPECT_TRUE(r.status.exited && r.status.code == 1) << command << ": " << r.status.describe();
      EXPECT_NE(r.err.find(expected), std::string::npos) << command << ": " << r.err;
      EXPECT_EQ(r.out.find("dsy_admin_"), std::string::npos) << r.out;
    }
  }
  EXPECT_EQ(d.get("/v1/apps", d.admin()).status, 200);

  d.kill9();
  std::vector<std::string> migrate{"migrate"};
  for (std::string& a : d.store_args()) migrate.push_back(std::move(a));
  second = run_daisy(migrate, 30s);
  EXPECT_TRUE(second.status.exited && second.status.code == 0) << second.status.describe() << second.err;
  ASSERT_TRUE(d.start()) << d.start_error();
  EXPECT_EQ(d.get("/v1/apps", d.admin()).status, 200);
}

// A lost admin token is replaced with `daisy admin-token --reset` while the
// server is stopped: the new token works, the old one does not.
TEST_F(LifecycleTest, AdminTokenResetPrintsANewTokenThatReplacesTheOld) {
  DaisyProcess& d = make();
  ASSERT_TRUE(d.start()) << d.start_error();
  ASSERT_EQ(d.get("/v1/apps", d.admin()).status, 200);
  ASSERT_EQ(d.stop().code, 0);

  std::vector<std::string> reset{"admin-token", "--reset"};
  for (std::string& a : d.store_args()) reset.push_back(std::move(a));
  RunResult r = run_daisy(reset, 30s);
  ASSERT_TRUE(r.status.exited && r.status.code == 0) << r.status.describe() << r.err;
  std::vector<std::string> tokens = printed_admin_tokens(r.out);
  ASSERT_EQ(tokens.size(), 1u) << r.out;
  EXPECT_EQ(r.err.find(tokens[0]), std::string::npos) << "the token must not be logged";

  ASSERT_TRUE(d.start({{}, false})) << d.start_error();
  EXPECT_EQ(d.get("/v1/apps", bearer(tokens[0])).status, 200);
  EXPECT_EQ(d.get("/v1/apps", d.admin()).status, 401) << "the old token still works";
  EXPECT_TRUE(printed_admin_tokens(d.out_text()).empty()) << d.out_text();

  RunResult without_reset = run_daisy({"admin-token", "--data-dir", d.data_dir()}, 30s);
  EXPECT_TRUE(without_reset.status.exited && without_reset.status.code != 0) << without_reset.status.describe();
  EXPECT_NE((without_reset.out + without_reset.err).find("--reset"), std::string::npos) << without_reset.err;
}

// A data dir the server cannot write is named, with the reason.
TEST_F(LifecycleTest, AnUnwritableDataDirIsReportedAsPermissionDenied) {
  TempDir dir;
  std::string data = dir.path + "/data";
  std::filesystem::create_directories(data);
  std::vector<std::string> argv;
  if (::geteuid() == 0) {
    // root writes anywhere: run the server as nobody, on a dir root owns.
    std::filesystem::permissions(dir.path, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                               std::filesystem::perms::group_exec |
                                               std::filesystem::perms::others_read |
                                               std::filesystem::perms::others_exec);
    argv = {"/usr/sbin/runuser", "-u", "nobody", "--"};
  } else {
    std::filesystem::permissions(data, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  }
  for (std::string a : {daisy_binary(), std::string("serve"), std::string("--listen"), std::string("127.0.0.1:0"),
                        std::string("--data-dir"), data}) {
    argv.push_back(a);
  }
  RunResult r = run_process(argv, 30s);
  EXPECT_TRUE(r.status.exited && r.status.code == 1) << r.status.describe() << r.err;
  EXPECT_NE(r.err.find("cannot write in the data dir " + data), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
  std::filesystem::permissions(data, std::filesystem::perms::owner_all);
}

TEST_F(LifecycleTest, VersionPrintsTheProjectVersion) {
  RunResult r = run_daisy({"version"});
  EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.status.describe();
  std::string version = project_version();
  ASSERT_FALSE(version.empty());
  EXPECT_EQ(r.out, "daisy " + version + "\n");
}

TEST_F(LifecycleTest, VersionFlagsPrintTheVersionToo) {
  for (std::string flag : {"--version", "-V"}) {
    RunResult r = run_daisy({flag});
    EXPECT_TRUE(r.status.exited && r.status.code == 0) << flag << ": " << r.status.describe();
    EXPECT_EQ(r.out, "daisy " + project_version() + "\n") << flag;
  }
}

TEST_F(LifecycleTest, ServerLogsItsVersionWhenListening) {
  DaisyProcess& d = make();
  ASSERT_TRUE(d.start()) << d.start_error();
  EXPECT_NE(d.err_text().find("version=" + project_version()), std::string::npos) << d.err_text();
}

// --log-format json: every line the server writes, its own and the access
// lines, is one JSON object, values from outside included.
TEST_F(LifecycleTest, JsonLogsAreOneObjectPerLine) {
  DaisyProcess& d = make({.args = {"--log-format", "json"}});
  ASSERT_TRUE(d.start()) << d.start_error();
  ASSERT_EQ(d.get("/no/such%22route%0A?x=y").status, 404);
  ASSERT_EQ(d.get("/healthz").status, 200);
  ExitStatus stopped = d.stop();
  EXPECT_EQ(stopped.code, 0) << stopped.describe();
  std::istringstream lines(d.err_text());
  int objects = 0, requests = 0;
  for (std::string line; std::getline(lines, line);) {
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    ASSERT_FALSE(ec) << "not JSON: " << line;
    ASSERT_TRUE(v.is_object()) << line;
    ++objects;
    EXPECT_TRUE(v.at("ts").is_string()) << line;
    EXPECT_TRUE(v.at("level").is_string()) << line;
    if (v.at("msg") != "request") continue;
    ++requests;
    EXPECT_TRUE(v.at("status").is_int64()) << line;
    if (v.at("status") == 404) {
      EXPECT_EQ(v.at("target"), "/no/such%22route%0A?x=y") << line;
    }
  }
  EXPECT_GE(requests, 2) << d.err_text();
  EXPECT_GE(objects, requests + 2) << "the server's own lines too (listening, stopped): " << d.err_text();
  EXPECT_NE(d.err_text().find(R"("msg":"listening","address":")"), std::string::npos) << d.err_text();
}

// The messages systemd would receive on a Type=notify unit's socket
// (sd_notify(3)): a datagram socket of our own named by NOTIFY_SOCKET.
class NotifySocket {
 public:
  NotifySocket() {
    path_ = "/tmp/daisy-e2e-notify-" + std::to_string(::getpid()) + ".sock";
    ::unlink(path_.c_str());
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{0, 200'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  bool bound() const { return bound_; }
  const std::string& path() const { return path_; }
  // Every message received so far, in order.
  const std::vector<std::string>& messages() {
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT)) > 0;) messages_.emplace_back(buf, n);
    return messages_;
  }
  bool received(std::string_view needle) {
    for (const auto& m : messages()) {
      if (m.find(needle) != std::string::npos) return true;
    }
    return false;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
  std::vector<std::string> messages_;
};

// Under systemd (Type=notify, WatchdogSec): ready once it serves, the
// watchdog fed while it runs, stopping when a stop begins.
TEST_F(LifecycleTest, TellsSystemdWhenReadyAliveAndStopping) {
  NotifySocket notify;
  ASSERT_TRUE(notify.bound()) << std::strerror(errno);
  ::setenv("NOTIFY_SOCKET", notify.path().c_str(), 1);
  ::setenv("WATCHDOG_USEC", "400000", 1);
  DaisyProcess& d = make();
  bool started = d.start();
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ASSERT_TRUE(started) << d.start_error();
  ASSERT_TRUE(eventually([&] { return notify.received("READY=1"); }, 10s));
  EXPECT_TRUE(notify.received("STATUS=serving on 127.0.0.1:" + std::to_string(d.port()))) << notify.messages()[0];
  EXPECT_EQ(d.get("/readyz").status, 200) << "ready means serving";
  auto pings = [&] {
    return std::count(notify.messages().begin(), notify.messages().end(), std::string("WATCHDOG=1"));
  };
  EXPECT_TRUE(eventually([&] { return pings() >= 3; }, 20s)) << pings();
  EXPECT_FALSE(notify.received("STOPPING=1"));
  EXPECT_EQ(d.stop().code, 0);
  EXPECT_TRUE(notify.received("STOPPING=1"));
  EXPECT_TRUE(d.wait_for_err("systemd watchdog", 1s)) << d.err_tail();
}

TEST_F(LifecycleTest, HelpExitsZero) {
  RunResult r = run_daisy({"--help"});
  EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.status.describe();
  for (std::string word : {"serve", "migrate", "check", "backup", "admin-token", "version"}) {
    EXPECT_NE(r.out.find(word), std::string::npos) << word << " missing from:\n" << r.out;
  }
  RunResult serve = run_daisy({"serve", "--help"});
  EXPECT_TRUE(serve.status.exited && serve.status.code == 0) << serve.status.describe();
  for (std::string flag :
       {"--listen", "--data-dir", "--admin-token", "--max-body-bytes", "--header-timeout-ms", "--log-format"}) {
    EXPECT_NE(serve.out.find(flag), std::string::npos) << flag << " missing from:\n" << serve.out;
  }
  // Every option with a fixed default shows it.
  for (std::string shown : {"--job-lease-ms UINT:UINT in [1000 - 86400000]=600000",
                            "--cluster-poll-ms UINT:UINT in [100 - 60000]=1000", "--listen TEXT=127.0.0.1:8080"}) {
    EXPECT_NE(serve.out.find(shown), std::string::npos) << shown << " missing from:\n" << serve.out;
  }
  auto private_targets = serve.out.find("--allow-private-targets");
  ASSERT_NE(private_targets, std::string::npos);
  EXPECT_NE(serve.out.substr(private_targets, 300).find("Redis"), std::string::npos) << serve.out;
  RunResult admin = run_daisy({"admin-token", "--help"});
  EXPECT_NE(admin.out.find("--reset"), std::string::npos) << admin.out;
}

TEST_F(LifecycleTest, MigrateThenServe) {
  DaisyProcess& d = make();
  std::vector<std::string> migrate{"migrate"};
  for (std::string& a : d.store_args()) migrate.push_back(std::move(a));
  RunResult first = run_daisy(migrate);
  EXPECT_TRUE(first.status.exited && first.status.code == 0) << first.status.describe() << "\n" << first.err;
  EXPECT_NE(first.err.find("msg=\"migration applied\" version=1"), std::string::npos) << first.err;
  if (!on_postgres()) {
    EXPECT_TRUE(std::filesystem::exists(d.data_dir() + "/daisy.db"));
  }

  RunResult again = run_daisy(migrate);
  EXPECT_TRUE(again.status.exited && again.status.code == 0) << again.status.describe() << "\n" << again.err;
  EXPECT_EQ(again.err.find("migration applied"), std::string::npos) << "migrations are applied once:\n" << again.err;

  ASSERT_TRUE(d.start()) << d.start_error();
  EXPECT_EQ(d.err_text().find("migration applied"), std::string::npos) << d.err_text();
  EXPECT_EQ(d.get("/healthz").status, 200);
  EXPECT_EQ(d.get("/readyz").status, 200);
  App app = create(d, "after-migrate", d.admin());
  EXPECT_EQ(d.get("/v1/apps/" + app.id, d.admin()).status, 200);
}

TEST_F(LifecycleTest, UnknownFlagFailsWithAMessage) {
  TempDir dir;
  RunResult r = run_daisy({"serve", "--data-dir", dir.path, "--bogus-flag"});
  EXPECT_TRUE(r.status.exited && r.status.code != 0) << r.status.describe();
  EXPECT_NE((r.out + r.err).find("--bogus-flag"), std::string::npos) << "out: " << r.out << "\nerr: " << r.err;
}

TEST_F(LifecycleTest, BadCommandLinesFail) {
  TempDir dir;
  struct Case {
    std::vector<std::string> args;
    std::string mentions;
  };
  std::vector<Case> cases = {
      {{}, "name a command (serve, migrate, check, backup, admin-token, version)"},
      {{"serve", "--data-dir", dir.path, "--log-format", "xml"}, "--log-format"},
      {{"frobnicate"}, "frobnicate"},
      {{"--bogus"}, "--bogus"},
      {{"serve", "--data-dir", dir.path, "--listen", "nonsense"}, "--listen"},
      {{"serve", "--data-dir", dir.path, "--max-body-bytes", "12"}, "--max-body-bytes"},
      {{"serve", "--data-dir", dir.path, "--sqlite-synchronous", "sometimes"}, "--sqlite-synchronous"},
      {{"serve", "--data-dir", dir.path, "--log-level", "loud"}, "--log-level"},
      {{"migrate", "--data-dir", dir.path, "--listen", "127.0.0.1:0"}, "--listen"},
  };
  for (const auto& c : cases) {
    RunResult r = run_daisy(c.args, 30s);
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    EXPECT_TRUE(r.status.exited && r.status.code != 0) << joined << ": " << r.status.describe();
    EXPECT_FALSE((r.out + r.err).empty()) << joined << ": no message";
    if (!c.mentions.empty()) {
      EXPECT_NE((r.out + r.err).find(c.mentions), std::string::npos) << joined << ":\n" << r.out << r.err;
    }
  }
}

}  // namespace
}  // namespace daisy_e2e
