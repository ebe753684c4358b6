#pragma once
// Registers every route of the API on a router. Each resource has its own
// file in src/api/ with a register_* function.

#include "api/api_context.h"
#include "http/router.h"

namespace daisy::api {

void register_routes(http::Router& router, ApiContext& ctx);

void register_health_routes(http::Router& router, ApiContext& ctx);
void register_app_routes(http::Router& router, ApiContext& ctx);
void register_form_routes(http::Router& router, ApiContext& ctx);
void register_response_routes(http::Router& router, ApiContext& ctx);
void register_event_ingest_routes(http::Router& router, ApiContext& ctx);
void register_posthog_routes(http::Router& router, ApiContext& ctx);  // /capture, /batch
void register_event_read_routes(http::Router& router, ApiContext& ctx);
void register_event_type_routes(http::Router& router, ApiContext& ctx);
void register_provider_routes(http::Router& router, ApiContext& ctx);
void register_search_routes(http::Router& router, ApiContext& ctx);
void register_item_routes(http::Router& router, ApiContext& ctx);
void register_integration_routes(http::Router& router, ApiContext& ctx);
void register_job_routes(http::Router& router, ApiContext& ctx);
void register_sms_status_routes(http::Router& router, ApiContext& ctx);
void register_stream_routes(http::Router& router, ApiContext& ctx);
void register_console_routes(http::Router& router, ApiContext& ctx);

}  // namespace daisy::api
