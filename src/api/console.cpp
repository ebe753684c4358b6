// The web console (/ui) and the API reference (/docs): static files built into
// the binary from web/console, or read from a directory on each request while
// the console is being developed (--console-dir). The pages call only the
// public API; a strict Content-Security-Policy allows nothing but this origin.
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "api/console_files.h"
#include "api/routes.h"
#include "http/problem.h"

namespace daisy::api {
namespace {

using http::Access;
using http::Method;
using http::Request;
using http::Response;

// No inline script or style, no other origin: an injected value cannot run.
constexpr const char* content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

constexpr std::size_t max_dev_file_bytes = 8u << 20;

std::string_view content_type_of(std::string_view path) {
  auto ends_with = [path](std::string_view suffix) { return path.ends_with(suffix); };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js") || ends_with(".mjs")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  if (ends_with(".png")) return "image/png";
  if (ends_with(".ico")) return "image/x-icon";
  if (ends_with(".json") || ends_with(".webmanifest")) return "application/json";
  if (ends_with(".woff2")) return "font/woff2";
  return "application/octet-stream";
}

Response file_response(std::string_view path, std::string bytes) {
  Response r(200, std::move(bytes), content_type_of(path));
  r.headers.emplace_back("Content-Security-Policy", content_security_policy);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  // A new binary may carry new files under the same names: revalidate always.
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

// A path under the console directory made only of plain names: no "..", no
// hidden files, nothing that could leave the directory.
bool plain_relative_path(std::string_view path) {
  if (path.empty()) return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view name = path.substr(start, end - start);
    if (name.empty() || name.front() == '.') return false;
    for (char c : name) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                c == '.';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

Response read_from_directory(const std::string& dir, std::string_view path) {
  if (!plain_relative_path(path)) return http::not_found("file");
  std::ifstream in(dir + "/" + std::string(path), std::ios::binary);
  if (!in) return http::not_found("file");
  std::string bytes;
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size < 0 || static_cast<std::size_t>(size) > max_dev_file_bytes) return http::not_found("file");
  in.seekg(0);
  bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return file_response(path, std::move(bytes));
}

std::string_view embedded(std::string_view path) {
  for (const ConsoleFile& file : console_files())
    if (file.path == path) return file.bytes;
  return {};
}

// Serves `path` of the console at `route`: from the binary, or from the directory.
void serve(http::Router& router, const std::string& route, std::string path, const ApiContext& ctx) {
  if (!ctx.console_dir.empty()) {
    router.add(Method::get, route, Access::public_,
               http::SyncHandler([dir = ctx.console_dir, path](Request&) { return read_from_directory(dir, path); }));
    return;
  }
  std::string_view bytes = embedded(path);
  if (bytes.empty()) return;  // a build without that file: 404
  router.add(Method::get, route, Access::public_,
             http::SyncHandler([path, bytes](Request&) { return file_response(path, std::string(bytes)); }));
}

}  // namespace

void register_console_routes(http::Router& router, ApiContext& ctx) {
  serve(router, "/ui", "index.html", ctx);
  serve(router, "/docs", "docs.html", ctx);
  if (ctx.console_dir.empty()) {
    for (const ConsoleFile& file : console_files())
      serve(router, "/ui/" + std::string(file.path), std::string(file.path), ctx);
    return;
  }
  // Development: whatever the directory holds now, up to three levels deep.
  const std::string dir = ctx.console_dir;
  router.add(Method::get, "/ui/{a}", Access::public_,
             http::SyncHandler([dir](Request& req) { return read_from_directory(dir, req.param(0)); }));
  router.add(Method::get, "/ui/{a}/{b}", Access::public_, http::SyncHandler([dir](Request& req) {
               return read_from_directory(dir, req.param(0) + "/" + req.param(1));
             }));
  router.add(Method::get, "/ui/{a}/{b}/{c}", Access::public_, http::SyncHandler([dir](Request& req) {
               return read_from_directory(dir, req.param(0) + "/" + req.param(1) + "/" + req.param(2));
             }));
}

}  // namespace daisy::api
