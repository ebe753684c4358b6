#include "api/replies.h"

#include "observability/log_value.h"
#include "util/json_text.h"

#include <spdlog/spdlog.h>
#include <boost/json/serialize.hpp>
#include <charconv>

namespace daisy::api {

http::Response store_failure(const Status& status, std::string_view what) {
  switch (status.code()) {
    case Status::Code::not_found:
      return http::not_found(what);
    case Status::Code::conflict:
      return http::problem(409, "conflict", status.message());
    case Status::Code::unavailable: {
      auto r = http::problem(503, "store-unavailable", "The store cannot take this request now; retry shortly.");
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    case Status::Code::too_costly:
      return http::problem(422, "query-too-costly", status.message());
    case Status::Code::internal:
    case Status::Code::ok:
      break;
  }
  spdlog::error("msg=\"store failure\" what={} error={}", log_value(what), log_value(status.message()));
  return http::problem(500, "internal-error", "The store failed; the error has been logged.");
}

http::Response json_reply(int status, const boost::json::value& body) {
  return http::Response(status, boost::json::serialize(body));
}

std::variant<Page, http::Response> page_from_query(const http::Request& req) {
  Page page;
  if (auto limit = req.query_param("limit")) {
    int value = 0;
    auto [ptr, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), value);
    if (ec != std::errc{} || ptr != limit->data() + limit->size() || value < 1 || value > 1000) {
      return http::validation_problem({{"limit", "must be an integer from 1 to 1000"}}, "Invalid query parameter.");
    }
    page.limit = static_cast<std::size_t>(value);
  }
  auto after = req.query_param("after");
  if (!after) after = req.query_param("cursor");
  if (after) {
    if (after->size() > 256) {
      return http::validation_problem({{"after", "must be at most 256 characters"}}, "Invalid query parameter.");
    }
    page.after = *after;
  }
  return page;
}

std::optional<std::int64_t> seq_cursor(const Page& page) {
  if (page.after.empty()) return 0;
  std::int64_t seq = 0;
  const char* end = page.after.data() + page.after.size();
  auto [ptr, ec] = std::from_chars(page.after.data(), end, seq);
  if (ec != std::errc{} || ptr != end || seq < 0) return std::nullopt;
  return seq;
}

boost::json::object page_body(boost::json::array items, const Page& page, std::string last_id) {
  boost::json::object body;
  bool full = items.size() == page.limit;
  body["items"] = std::move(items);
  if (full && !last_id.empty()) {
    body["next_cursor"] = last_id;
  } else {
    body["next_cursor"] = nullptr;
  }
  return body;
}

void append_actions(std::string& json_object, const std::vector<jobs::TriggeredAction>& actions) {
  if (json_object.empty() || json_object.back() != '}') return;
  json_object.pop_back();
  json_object += ",\"actions\":[";
  for (std::size_t i = 0; i < actions.size(); ++i) {
    const auto& a = actions[i];
    if (i) json_object += ',';
    json_object += "{\"integration_id\":\"" + a.integration_id + "\"";
    if (!a.job_id.empty()) json_object += ",\"job_id\":\"" + a.job_id + "\"";
    json_object += ",\"mode\":\"" + a.mode + "\",\"status\":\"" + a.status + "\"";
    if (a.mode == "sync") {
      json_object += ",\"output\":" + (a.output.empty() ? std::string("null") : a.output);
      json_object += ",\"error\":";
      if (a.error.empty()) {
        json_object += "null";
      } else {
        append_json_string(json_object, a.error);
      }
    }
    json_object += "}";
  }
  json_object += "]}";
}

ReadRunner runner_on(http::ReaderPool* readers, http::ReaderPool::Outcome* refused) {
  if (!readers) return {};
  return [readers, refused](std::function<void()> read) -> boost::asio::awaitable<bool> {
    auto outcome = co_await readers->run(std::move(read));
    if (outcome != http::ReaderPool::Outcome::ran && refused) *refused = outcome;
    co_return outcome == http::ReaderPool::Outcome::ran;
  };
}

}  // namespace daisy::api
