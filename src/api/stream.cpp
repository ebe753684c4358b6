// GET /v1/stream: Server-Sent Events of what is committed (responses,
// events, rejections) and what finishes (job attempts, provider pulls), with
// filters. Each message's id is "<epoch>-<n>": a reconnect that sends it as
// Last-Event-ID resumes right after it while the server's ring still holds
// what followed (else a `gap` message says what was missed). A stream too
// slow for the ring gets a final `reset` message and is closed. An app
// token sees only its own app's responses and events.
#include <boost/asio/this_coro.hpp>

#include <charconv>

#include "api/routes.h"
#include "domain/field_error.h"
#include "http/problem.h"
#include "live/live_bus.h"
#include "util/append.h"

namespace daisy::api {
namespace {

using http::Request;
using http::Response;
namespace asio = boost::asio;

constexpr std::size_t max_filter_length = 200;

std::string known_types() {
  std::string list;
  for (auto name : live::kind_names) {
    if (!list.empty()) list += ", ";
    list += name;
  }
  return list;
}

// "<epoch>-<n>" of this process, or nullopt with an error (another epoch is
// not an error: the ring cannot hold it, so the stream starts with a gap).
std::optional<std::uint64_t> read_last_event_id(std::string_view id, std::uint64_t epoch, bool& malformed) {
  auto dash = id.find('-');
  std::uint64_t e = 0, n = 0;
  malformed = true;
  if (dash == std::string_view::npos) return std::nullopt;
  auto a = std::from_chars(id.data(), id.data() + dash, e);
  auto b = std::from_chars(id.data() + dash + 1, id.data() + id.size(), n);
  if (a.ec != std::errc{} || a.ptr != id.data() + dash || b.ec != std::errc{} || b.ptr != id.data() + id.size()) {
    return std::nullopt;
  }
  malformed = false;
  if (e != epoch) return std::numeric_limits<std::uint64_t>::max();  // never held: a gap
  return n;
}

void append_message(std::string& out, std::uint64_t epoch, const live::LiveMessage& m) {
  out += "id: ";
  append_decimal(out, epoch);
  out += '-';
  append_decimal(out, m.n);
  out += "\nevent: ";
  out += live::name_of(m.kind);
  out += "\ndata: ";
  out += *m.data;  // one line: compact JSON escapes every newline
  out += "\n\n";
}

asio::awaitable<Response> open_stream(ApiContext& ctx, Request& req) {
  if (!ctx.live) co_return http::problem(503, "unavailable", "Live streams are not enabled on this server.");
  live::LiveFilter filter;
  std::vector<FieldError> errors;
  if (auto types = req.query_param("types")) {
    std::string_view rest = *types;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string_view name = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      live::Kind kind;
      if (!live::kind_named(name, kind)) {
        errors.push_back({"types", "must be a comma-separated list of: " + known_types()});
        break;
      }
      filter.kinds.set(static_cast<std::size_t>(kind));
    }
  }
  for (auto [name, target] :
       {std::pair{"app_id", &filter.app_id}, std::pair{"form_id", &filter.form_id},
        std::pair{"category", &filter.category}, std::pair{"integration_id", &filter.integration_id}}) {
    auto value = req.query_param(name);
    if (!value) continue;
    if (value->empty() || value->size() > max_filter_length) {
      errors.push_back({name, "must be 1 to 200 characters"});
      continue;
    }
    *target = *value;
  }
  std::optional<std::uint64_t> after;
  std::string_view last_id = req.header("Last-Event-ID");
  auto from_query = req.query_param("last_event_id");
  if (last_id.empty() && from_query) last_id = *from_query;
  if (!last_id.empty()) {
    bool malformed = false;
    after = read_last_event_id(last_id, ctx.live->epoch(), malformed);
    if (malformed)
      errors.push_back({"Last-Event-ID", "must be the id of a message of this stream, such as 1764979200000-42"});
  }
  if (!errors.empty()) co_return http::validation_problem(std::move(errors));
  if (req.principal.is_app()) {
    if (!filter.app_id.empty() && filter.app_id != req.principal.app_id) {
      co_return http::problem(403, "forbidden", "An app token streams only its own app's responses and events.");
    }
    for (auto kind : {live::Kind::job_updated, live::Kind::sync_finished}) {
      if (filter.kinds.test(static_cast<std::size_t>(kind))) {
        co_return http::problem(403, "forbidden",
                                "An app token streams only responses and events; " + std::string(live::name_of(kind)) +
                                    " needs the admin token.");
      }
    }
    filter.scope_app_id = req.principal.app_id;
  }

  auto executor = co_await asio::this_coro::executor;
  auto subscription = ctx.live->subscribe(std::move(filter), after, executor);
  if (!subscription) {
    Response busy = http::problem(503, "overloaded", "Too many live streams are open; try again later.");
    busy.headers.emplace_back("Retry-After", "5");
    co_return busy;
  }
  Response r(200, "", "text/event-stream");
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("X-Accel-Buffering", "no");  // proxies pass each message on at once
  r.live = [subscription, epoch = ctx.live->epoch(), heartbeat = ctx.live_heartbeat,
            started = false](std::string& out) mutable -> asio::awaitable<bool> {
    if (!started) {
      // At once, so the client sees the stream open before the first message.
      started = true;
      out += "retry: 2000\n: stream open\n\n";
      co_return true;
    }
    auto batch = co_await subscription->next(heartbeat);
    if (batch.closed) co_return false;
    if (batch.behind) {
      out += "event: reset\ndata: {\"reason\":\"the stream fell too far behind; reconnect with Last-Event-ID\"}\n\n";
      co_return false;
    }
    if (batch.gap) {
      out +=
          "event: gap\ndata: {\"reason\":\"the messages after Last-Event-ID are no longer held; reload what you "
          "show\"}\n\n";
    }
    if (batch.messages.empty() && !batch.gap) out += ": heartbeat\n\n";
    for (const auto& m : batch.messages) append_message(out, epoch, *m);
    co_return true;
  };
  co_return r;
}

}  // namespace

void register_stream_routes(http::Router& router, ApiContext& ctx) {
  router.add(http::Method::get, "/v1/stream", http::Access::app_or_admin,
             http::AsyncHandler([&ctx](Request& req) { return open_stream(ctx, req); }));
}

}  // namespace daisy::api
