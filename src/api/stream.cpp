// GET /v1/stream: Server-Sent Events of what is committed (responses,
// events, rejections) and what finishes (job attempts, provider pulls), with
// filters. Each message's id is "<epoch>-<n>-<ms>" (the process, the
// message's place in its ring, when it was published): a reconnect that sends
// it as Last-Event-ID resumes right after it while the ring still holds what
// followed; beyond the ring, the responses and events since <ms> are read back
// from the store (live/missed_messages.h), and a `gap` message says when what
// was missed could not all be sent. A stream too slow for the ring gets a
// final `reset` message and is closed. An app token sees only its own app's
// responses and events.
#include <boost/asio/this_coro.hpp>

#include "api/routes.h"
#include "domain/field_error.h"
#include "http/problem.h"
#include "http/reader_pool.h"
#include "live/live_bus.h"
#include "live/missed_messages.h"
#include "live/stream_cursor.h"

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

// One message as Server-Sent Events: "id: <epoch>-<n>-<at_ms>", its type and
// its data (one line).
void append_stream_message(std::string& out, std::uint64_t epoch, const live::LiveMessage& m) {
  out += "id: ";
  live::append_cursor(out, epoch, m);
  out += "\nevent: ";
  out += live::name_of(m.kind);
  out += "\ndata: ";
  out += *m.data;  // one line: compact JSON escapes every newline
  out += "\n\n";
}

// What a stream resuming beyond the ring missed, read back from the store
// (as Server-Sent Events), when its place is not held; "" otherwise. The
// stream is subscribed first, so that nothing published while the store is
// read is missed (it may come twice: once read back, once from the ring).
asio::awaitable<std::string> read_back(ApiContext& ctx, const live::LiveFilter& filter, live::Subscription& stream,
                                       std::int64_t since_ms) {
  if (!stream.starts_with_gap() || !live::replayable(filter)) co_return std::string();
  std::optional<Result<live::MissedMessages>> missed;
  auto read = [&] { missed = live::read_missed(ctx.store, filter, since_ms); };
  if (ctx.readers) {
    // Refused (the readers are busy): nothing read back, and the stream says gap.
    auto outcome = co_await ctx.readers->run(read);
    (void)outcome;
  } else {
    read();
  }
  if (!missed || !missed->is_ok()) co_return std::string();
  if (missed->value().complete) stream.drop_gap();
  std::string text;
  for (const live::LiveMessage& m : missed->value().messages) append_stream_message(text, ctx.live->epoch(), m);
  co_return text;
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
  live::ResumePoint resume;
  std::string_view last_id = req.header("Last-Event-ID");
  auto from_query = req.query_param("last_event_id");
  if (last_id.empty() && from_query) last_id = *from_query;
  if (!last_id.empty()) {
    auto point = live::read_cursor(last_id, ctx.live->epoch());
    if (point) {
      resume = *point;
    } else {
      errors.push_back(
          {"Last-Event-ID", "must be the id of a message of this stream, such as 1764979200000-42-1764979260000"});
    }
  }
  if (!errors.empty()) co_return http::validation_problem(std::move(errors));
  if (req.principal.is_app()) {
    std::string refusal = live::scope_to_app(filter, req.principal.app_id);
    if (!refusal.empty()) co_return http::problem(403, "forbidden", refusal);
  }

  auto executor = co_await asio::this_coro::executor;
  const live::LiveFilter replay_filter = filter;
  auto subscription = ctx.live->subscribe(std::move(filter), resume.after, executor);
  if (!subscription) {
    Response busy = http::problem(503, "overloaded", "Too many live streams are open; try again later.");
    busy.headers.emplace_back("Retry-After", "5");
    co_return busy;
  }
  std::string replayed;
  if (resume.at_ms) replayed = co_await read_back(ctx, replay_filter, *subscription, *resume.at_ms);
  Response r(200, "", "text/event-stream");
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("X-Accel-Buffering", "no");  // proxies pass each message on at once
  r.live = [subscription, epoch = ctx.live->epoch(), heartbeat = ctx.live_heartbeat, replayed = std::move(replayed),
            started = false](std::string& out) mutable -> asio::awaitable<bool> {
    if (!started) {
      // At once, so the client sees the stream open before the first message.
      started = true;
      out += "retry: 2000\n: stream open\n\n";
      out += replayed;
      replayed = std::string();
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
    for (const auto& m : batch.messages) append_stream_message(out, epoch, *m);
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
