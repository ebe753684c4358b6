// The embedded OpenAPI document and the real router must agree: every
// registered (method, pattern) is documented under its path with the right
// security, and every documented operation is registered.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "api/openapi_document.h"
#include "api/routes.h"
#include "auth/authenticator.h"
#include "http/router.h"
#include "observability/metrics.h"
#include "store/sqlite/sqlite_store.h"
#include "test_support.h"

namespace {

using daisy::http::Access;
using daisy::http::Method;

const std::set<std::string> http_methods = {"get", "put", "post", "delete", "head", "options", "patch", "trace"};

struct DocumentedOperation {
  std::string security;  // "public" (security: []), "admin" (adminToken), "app", or "" if unstated
};

// path -> method -> operation, read line by line from the `paths:` section:
// a path is a line "  /path:", an operation a line "    get:" under it.
using Documented = std::map<std::string, std::map<std::string, DocumentedOperation>>;

Documented read_paths(std::string_view document, std::vector<std::string>& problems) {
  Documented out;
  std::istringstream in{std::string(document)};
  std::string line;
  bool in_paths = false;
  std::string path;
  std::string method;
  bool in_security = false;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line.find_first_not_of(' ') == std::string::npos) continue;
    if (line[0] != ' ' && line[0] != '#') {
      in_paths = line.rfind("paths:", 0) == 0;
      path.clear();
      method.clear();
      continue;
    }
    if (!in_paths) continue;
    if (line.rfind("  /", 0) == 0 && line.back() == ':') {
      path = line.substr(2, line.size() - 3);
      method.clear();
      if (out.count(path)) problems.push_back("line " + std::to_string(line_no) + ": path twice: " + path);
      out[path];
      continue;
    }
    if (line.rfind("    ", 0) == 0 && line[4] != ' ') {
      std::string key = line.substr(4, line.find(':') - 4);
      method.clear();
      if (http_methods.count(key)) {
        if (path.empty()) {
          problems.push_back("line " + std::to_string(line_no) + ": operation outside a path");
        } else if (out[path].count(key)) {
          problems.push_back("line " + std::to_string(line_no) + ": " + key + " twice under " + path);
        } else {
          method = key;
          out[path][method];
        }
      }
      continue;
    }
    if (method.empty()) continue;
    if (line.rfind("      ", 0) == 0 && line[6] != ' ') {
      in_security = false;
      if (line == "      security: []") {
        out[path][method].security = "public";
      } else if (line == "      security:") {
        in_security = true;
      }
      continue;
    }
    if (in_security && line.rfind("        - ", 0) == 0) {
      std::string scheme = line.substr(10, line.find(':') - 10);
      std::string& s = out[path][method].security;
      std::string kind = scheme == "adminToken"       ? "admin"
                         : scheme == "appToken"       ? "app"
                         : scheme == "publishableKey" ? "publishable"
                                                      : scheme;
      s = s.empty() ? kind : s + "," + kind;
    }
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// A route pages call also takes a publishable key, but on a public route
// (PostHog's, whose key is in the body).
std::string expected_security(const daisy::http::Route& route) {
  std::string key = route.options.publishable ? ",publishable" : "";
  switch (route.access) {
    case Access::public_:
      return "public";
    case Access::admin:
      return "admin" + key;
    case Access::app_or_admin:
      return "app,admin" + key;
  }
  return "?";
}

// The console's files are registered one route each (/ui/js/api.js...) and
// documented together as /ui/{file}.
std::string documented_as(const std::string& pattern) {
  return pattern.starts_with("/ui/") ? std::string("/ui/{file}") : pattern;
}

// What is registered but not documented (or documented with other security).
std::vector<std::string> undocumented(const daisy::http::Router& router, std::string_view document) {
  std::vector<std::string> problems;
  Documented documented = read_paths(document, problems);
  for (const auto& pattern : router.patterns()) {
    for (const auto& route : pattern.routes) {
      std::string method = lower(daisy::http::method_name(route.method));
      auto path = documented.find(documented_as(pattern.pattern));
      if (path == documented.end() || !path->second.count(method)) {
        problems.push_back("undocumented: " + method + " " + pattern.pattern);
        continue;
      }
      const std::string& security = path->second.at(method).security;
      if (security != expected_security(route)) {
        problems.push_back("security of " + method + " " + pattern.pattern + ": documented '" + security +
                           "', registered '" + expected_security(route) + "'");
      }
    }
  }
  return problems;
}

// What is documented but not registered.
std::vector<std::string> stale(const daisy::http::Router& router, std::string_view document) {
  std::vector<std::string> problems;
  Documented documented = read_paths(document, problems);
  for (const auto& [path, methods] : documented) {
    const daisy::http::RoutePattern* pattern = nullptr;
    for (const auto& p : router.patterns()) {
      if (documented_as(p.pattern) == path) pattern = &p;
    }
    if (methods.empty()) problems.push_back("path without operations: " + path);
    for (const auto& [method, op] : methods) {
      bool found = false;
      // The server answers HEAD for every GET route (headers only).
      std::string served = method == "head" ? "get" : method;
      if (pattern) {
        for (const auto& r : pattern->routes) found = found || lower(daisy::http::method_name(r.method)) == served;
      }
      if (!found) problems.push_back("not registered: " + method + " " + path);
    }
  }
  return problems;
}

std::string replaced(std::string_view doc, std::string_view from, std::string_view to) {
  std::string out(doc);
  auto at = out.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) out.replace(at, from.size(), to);
  return out;
}

class OpenApiCoverage : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_unique<daisy::SqliteStore>(daisy::SqliteOptions{dir_.file("daisy.db"), false}, &metrics_);
    ASSERT_TRUE(store_->migrate().is_ok());
    ctx_ = std::make_unique<daisy::api::ApiContext>(daisy::api::ApiContext{*store_, auth_, &metrics_});
    daisy::api::register_routes(router_, *ctx_);
    metrics_.set_routes(router_.route_labels());
  }

  daisy::test::TempDir dir_;
  daisy::Metrics metrics_;
  daisy::Authenticator auth_;
  std::unique_ptr<daisy::SqliteStore> store_;
  std::unique_ptr<daisy::api::ApiContext> ctx_;
  daisy::http::Router router_;
};

TEST(OpenApiParser, ReadsPathsOperationsAndSecurity) {
  const char* doc =
      "openapi: 3.1.0\n"
      "info:\n"
      "  title: x\n"
      "    get: not-an-operation\n"
      "paths:\n"
      "  /a:\n"
      "    get:\n"
      "      security: []\n"
      "      responses: {}\n"
      "    post:\n"
      "      security:\n"
      "        - adminToken: []\n"
      "  /b/{id}:\n"
      "    delete:\n"
      "      security:\n"
      "        - appToken: []\n"
      "        - adminToken: []\n"
      "components:\n"
      "  /c:\n"
      "    get:\n";
  std::vector<std::string> problems;
  Documented d = read_paths(doc, problems);
  EXPECT_TRUE(problems.empty());
  ASSERT_EQ(d.size(), 2u);
  ASSERT_EQ(d["/a"].size(), 2u);
  EXPECT_EQ(d["/a"]["get"].security, "public");
  EXPECT_EQ(d["/a"]["post"].security, "admin");
  ASSERT_EQ(d["/b/{id}"].size(), 1u);
  EXPECT_EQ(d["/b/{id}"]["delete"].security, "app,admin");
  EXPECT_EQ(d.count("/c"), 0u);
}

TEST(OpenApiParser, ReportsDuplicates) {
  std::vector<std::string> problems;
  read_paths("paths:\n  /a:\n    get:\n    get:\n  /a:\n", problems);
  EXPECT_EQ(problems.size(), 2u);
}

TEST_F(OpenApiCoverage, DocumentIsOpenApi31) {
  std::string_view doc = daisy::openapi_document();
  EXPECT_EQ(doc.substr(0, 15), "openapi: 3.1.0\n");
  EXPECT_NE(doc.find("\npaths:\n"), std::string_view::npos);
  EXPECT_NE(doc.find("\ncomponents:\n"), std::string_view::npos);
}

TEST_F(OpenApiCoverage, EveryRegisteredRouteIsDocumented) {
  std::size_t routes = 0;
  for (const auto& p : router_.patterns()) routes += p.routes.size();
  EXPECT_GE(routes, 9u);  // four operational routes and five /v1/apps routes at least
  auto problems = undocumented(router_, daisy::openapi_document());
  EXPECT_TRUE(problems.empty()) << "docs/openapi.yaml is behind the router:\n" << ::testing::PrintToString(problems);
}

TEST_F(OpenApiCoverage, EveryDocumentedOperationIsRegistered) {
  std::vector<std::string> ignored;
  ASSERT_GE(read_paths(daisy::openapi_document(), ignored).size(), 7u);
  auto problems = stale(router_, daisy::openapi_document());
  EXPECT_TRUE(problems.empty()) << "docs/openapi.yaml describes what the router lacks:\n"
                                << ::testing::PrintToString(problems);
}

// The two checks above, shown to fail on a document that is wrong.
TEST_F(OpenApiCoverage, DetectsAMissingAndAStaleOperation) {
  std::string doc =
      replaced(daisy::openapi_document(), "  /v1/apps/{id}/token:\n    post:", "  /v1/apps/{id}/token:\n    put:");
  EXPECT_EQ(undocumented(router_, doc), (std::vector<std::string>{"undocumented: post /v1/apps/{id}/token"}));
  EXPECT_EQ(stale(router_, doc), (std::vector<std::string>{"not registered: put /v1/apps/{id}/token"}));
}

TEST_F(OpenApiCoverage, DetectsWrongSecurity) {
  // The first `security: []` is that of GET /healthz, the first path.
  std::string doc =
      replaced(daisy::openapi_document(), "      security: []\n", "      security:\n        - adminToken: []\n");
  auto problems = undocumented(router_, doc);
  ASSERT_EQ(problems.size(), 1u) << ::testing::PrintToString(problems);
  EXPECT_NE(problems[0].find("security of get /healthz"), std::string::npos) << problems[0];
}

TEST_F(OpenApiCoverage, DetectsAnUnregisteredPath) {
  std::string doc = replaced(daisy::openapi_document(), "\ncomponents:\n",
                             "\n  /v1/ghosts:\n    get:\n      security: []\ncomponents:\n");
  EXPECT_EQ(stale(router_, doc), (std::vector<std::string>{"not registered: get /v1/ghosts"}));
}

TEST_F(OpenApiCoverage, ServedDocumentIsTheEmbeddedOne) {
  daisy::http::Request req;
  auto match = router_.match(Method::get, "/openapi.yaml", req);
  ASSERT_NE(match.route, nullptr);
  EXPECT_EQ(match.route->access, Access::public_);
  const auto* handler = std::get_if<daisy::http::SyncHandler>(&match.route->handler);
  ASSERT_NE(handler, nullptr);
  daisy::http::Response r = (*handler)(req);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/yaml");
  EXPECT_EQ(r.body, daisy::openapi_document());
}

}  // namespace
