// Operational routes: liveness, readiness, metrics and the API description.
#include "api/openapi_document.h"
#include "api/routes.h"
#include "http/problem.h"
#include "observability/metrics.h"

namespace daisy::api {

void register_health_routes(http::Router& router, ApiContext& ctx) {
  using http::Access;
  using http::Method;
  using http::Request;
  using http::Response;

  router.add(Method::get, "/healthz", Access::public_,
             http::SyncHandler([](Request&) { return Response(200, R"({"status":"ok"})"); }));

  router.add(Method::get, "/readyz", Access::public_, http::SyncHandler([&ctx](Request&) {
               if (ctx.store.ready()) return Response(200, R"({"status":"ready"})");
               Response r = http::problem(503, "not-ready", "The store does not answer.");
               r.headers.emplace_back("Retry-After", "1");
               return r;
             }));

  router.add(Method::get, "/metrics", Access::public_, http::SyncHandler([&ctx](Request&) {
               return Response(200, ctx.metrics ? ctx.metrics->render() : std::string(),
                               "text/plain; version=0.0.4; charset=utf-8");
             }));

  router.add(Method::get, "/openapi.yaml", Access::public_, http::SyncHandler([](Request&) {
               return Response(200, std::string(openapi_document()), "application/yaml");
             }));
  router.add(Method::get, "/openapi.json", Access::public_, http::SyncHandler([](Request&) {
               return Response(200, std::string(openapi_json_document()), "application/json");
             }));
}

}  // namespace daisy::api
