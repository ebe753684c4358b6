#pragma once
// Reply helpers shared by the resource handlers: store failures mapped to HTTP
// in one place, JSON bodies, and page parameters.

#include <boost/json/value.hpp>

#include <optional>
#include <variant>

#include "http/problem.h"
#include "http/reader_pool.h"
#include "http/request.h"
#include "jobs/integration_registry.h"
#include "store/page.h"
#include "store/status.h"
#include "util/read_runner.h"

namespace daisy::api {

// not_found -> 404, conflict -> 409, unavailable -> 503 + Retry-After, internal -> 500.
http::Response store_failure(const Status& status, std::string_view what);

http::Response json_reply(int status, const boost::json::value& body);

// Reads ?limit= (1..1000, default 50) and ?after= (or its synonym ?cursor=).
std::variant<Page, http::Response> page_from_query(const http::Request& req);

// A cursor that is a row's sequence number (a non-negative integer), or
// nullopt when `after` is not one; 0 when the page has no cursor.
std::optional<std::int64_t> seq_cursor(const Page& page);

// {"items": [...], "next_cursor": "<cursor>" | null}; set when the page is full.
boost::json::object page_body(boost::json::array items, const Page& page, std::string last_id);

// Adds "actions": [{"integration_id", "job_id", "mode", "status"}, ...] to
// a JSON object's text (the submit replies list what a write triggered).
void append_actions(std::string& json_object, const std::vector<jobs::TriggeredAction>& actions);

// A ReadRunner on these readers (empty without them), for operations below
// the API that read in pages (replays, item listings); `refused`, when
// given, receives why the readers refused a read.
ReadRunner runner_on(http::ReaderPool* readers, http::ReaderPool::Outcome* refused = nullptr);

}  // namespace daisy::api
