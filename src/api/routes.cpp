#include "api/routes.h"

namespace daisy::api {

void register_routes(http::Router& router, ApiContext& ctx) {
  register_health_routes(router, ctx);
  register_app_routes(router, ctx);
  register_form_routes(router, ctx);
  register_response_routes(router, ctx);
  register_event_ingest_routes(router, ctx);
  register_posthog_routes(router, ctx);
  register_event_read_routes(router, ctx);
  register_event_type_routes(router, ctx);
  register_provider_routes(router, ctx);
  register_search_routes(router, ctx);
  register_item_routes(router, ctx);
  register_integration_routes(router, ctx);
  register_job_routes(router, ctx);
  register_sms_status_routes(router, ctx);
  register_stream_routes(router, ctx);
  register_console_routes(router, ctx);
}

}  // namespace daisy::api
