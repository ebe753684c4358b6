// The console's files (/ui), the API reference page (/docs) and /openapi.json,
// as the binary serves them: built in, under a strict Content-Security-Policy.
// What the pages do is tested in a browser (tests/browser).
#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>

#include "harness.h"

namespace daisy_e2e {
namespace {

class ConsoleTest : public SharedServer<ConsoleTest> {
 public:
  static DaisyProcess::Options options() { return {}; }
};

void expect_page_headers(const HttpResponse& r) {
  EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
  std::string csp = r.header("Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
}

// Every quoted text that follows `marker` in text (up to the closing quote).
std::vector<std::string> quoted_after(const std::string& text, std::string_view marker) {
  std::vector<std::string> out;
  for (std::size_t at = text.find(marker); at != std::string::npos; at = text.find(marker, at + 1)) {
    std::size_t open = at + marker.size();
    while (open < text.size() && (text[open] == ' ' || text[open] == '\n')) ++open;
    if (open >= text.size() || (text[open] != '"' && text[open] != '\'')) continue;
    std::size_t close = text.find(text[open], open + 1);
    if (close == std::string::npos) break;
    out.push_back(text.substr(open + 1, close - open - 1));
  }
  return out;
}

// The /ui/... addresses a page's <script src> and <link href> name.
std::set<std::string> assets_of(const std::string& html) {
  std::set<std::string> out;
  for (std::string_view marker : {"src=", "href="})
    for (const std::string& ref : quoted_after(html, marker))
      if (ref.starts_with("/ui/")) out.insert(ref);
  return out;
}

// Every ES module import of a script ("./x.js", "../y.js" or "/ui/z.js"), as an address.
std::set<std::string> imports_of(const std::string& address, const std::string& js) {
  std::set<std::string> out;
  std::filesystem::path base = std::filesystem::path(address).parent_path();
  for (const std::string& target : quoted_after(js, "from")) {
    if (!target.ends_with(".js")) continue;
    if (target.starts_with("/")) out.insert(target);
    if (target.starts_with("./") || target.starts_with("../")) out.insert((base / target).lexically_normal().string());
  }
  return out;
}

TEST_F(ConsoleTest, ConsolePageAndEveryFileItLoadsAreServed) {
  HttpResponse page = server().get("/ui");
  ASSERT_EQ(page.status, 200) << page.summary();
  expect_page_headers(page);
  EXPECT_NE(page.body.find("<html"), std::string::npos);
  std::set<std::string> pending = assets_of(page.body);
  ASSERT_FALSE(pending.empty()) << "the page loads no script or style from /ui/";
  std::set<std::string> seen;
  while (!pending.empty()) {
    std::string address = *pending.begin();
    pending.erase(pending.begin());
    if (!seen.insert(address).second) continue;
    HttpResponse r = server().get(address);
    ASSERT_EQ(r.status, 200) << address << ": " << r.summary();
    std::string type = r.header("Content-Type");
    if (address.ends_with(".js")) {
      EXPECT_EQ(type, "text/javascript; charset=utf-8") << address;
      for (const std::string& next : imports_of(address, r.body)) pending.insert(next);
    } else if (address.ends_with(".css")) {
      EXPECT_EQ(type, "text/css; charset=utf-8") << address;
    }
    EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff") << address;
  }
  EXPECT_GT(seen.size(), 1u);
}

TEST_F(ConsoleTest, TheConsolesAddressIsPrintedAtStart) {
  std::string url = "Daisy console: http://127.0.0.1:" + std::to_string(server().port()) + "/ui";
  EXPECT_TRUE(server().wait_for_out(url)) << server().out_text();
}

TEST_F(ConsoleTest, ApiReferencePageIsServed) {
  HttpResponse r = server().get("/docs");
  ASSERT_EQ(r.status, 200) << r.summary();
  expect_page_headers(r);
  for (const std::string& address : assets_of(r.body)) EXPECT_EQ(server().get(address).status, 200) << address;
}

TEST_F(ConsoleTest, UnknownConsoleFilesAre404) {
  EXPECT_EQ(server().get("/ui/no-such-file.js").status, 404);
  EXPECT_EQ(server().get("/ui/js/../../openapi.yaml").status, 404);
}

TEST_F(ConsoleTest, OpenApiJsonIsTheYamlDocument) {
  HttpResponse r = server().get("/openapi.json");
  ASSERT_EQ(r.status, 200) << r.summary();
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  boost::json::object doc = r.json().as_object();
  EXPECT_EQ(std::string(doc.at("openapi").as_string()).rfind("3.1", 0), 0u);
  // Every path of the YAML (two-space indented keys under "paths:") is in the JSON.
  std::string yaml = server().get("/openapi.yaml").body;
  std::size_t at = yaml.find("\npaths:\n");
  ASSERT_NE(at, std::string::npos);
  std::size_t end = yaml.find("\ncomponents:", at);
  const boost::json::object& paths = doc.at("paths").as_object();
  std::size_t count = 0;
  for (at = yaml.find("\n  /", at); at < end; at = yaml.find("\n  /", at + 1)) {
    std::size_t colon = yaml.find(":\n", at);
    std::string path = yaml.substr(at + 3, colon - at - 3);
    ++count;
    EXPECT_TRUE(paths.contains(path)) << path;
  }
  EXPECT_EQ(paths.size(), count);
  EXPECT_TRUE(paths.contains("/v1/stream"));
}

class ConsoleDirTest : public OwnedServers {};

// --console-dir serves what the directory holds now, and nothing outside it.
TEST_F(ConsoleDirTest, DevelopmentDirectoryIsReadOnEachRequest) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("daisy-console-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "js");
  std::ofstream(dir / "index.html") << "<html>first</html>";
  std::ofstream(dir.parent_path() / (dir.filename().string() + "-secret")) << "outside";
  DaisyProcess& d = make({.args = {"--console-dir", dir.string()}});
  ASSERT_TRUE(d.start()) << d.start_error();
  EXPECT_EQ(d.get("/ui").body, "<html>first</html>");
  EXPECT_EQ(d.get("/ui/js/later.js").status, 404);
  std::ofstream(dir / "js" / "later.js") << "export const x = 1;";
  std::ofstream(dir / "index.html") << "<html>second</html>";
  HttpResponse later = d.get("/ui/js/later.js");
  EXPECT_EQ(later.status, 200) << later.summary();
  EXPECT_EQ(later.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(d.get("/ui").body, "<html>second</html>");
  EXPECT_EQ(d.get("/ui/../" + dir.filename().string() + "-secret").status, 404);
  EXPECT_EQ(d.get("/ui/js/..").status, 404);
  EXPECT_EQ(d.get("/ui/.hidden").status, 404);
  d.stop();
  std::filesystem::remove_all(dir);
  std::filesystem::remove(dir.parent_path() / (dir.filename().string() + "-secret"));
}

}  // namespace
}  // namespace daisy_e2e
