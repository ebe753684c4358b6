#include "jobs/replay.h"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <optional>
#include <utility>
#include <vector>

#include "jobs/job_runner.h"
#include "store/record_json.h"
#include "util/time.h"

namespace daisy::jobs {
namespace {

constexpr std::size_t replay_page = 1000;
constexpr std::size_t insert_slice = 5000;

std::string ns_to_utc(std::int64_t ns) {
  return format_utc(Clock::time_point{std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(ns))});
}

ReplayRefusal store_failed(Status status, std::string what) {
  return {ReplayRefusal::Kind::store_failed, std::move(status), std::move(what)};
}

// Runs one page's read through services.run_read, or here between yields.
boost::asio::awaitable<bool> read_page(const ReplayServices& services, std::function<void()> read) {
  if (services.run_read) co_return co_await services.run_read(std::move(read));
  auto executor = co_await boost::asio::this_coro::executor;
  co_await boost::asio::post(executor, boost::asio::use_awaitable);
  read();
  co_return true;
}

// The jobs of a form's responses in the range, appended to jobs; a refusal
// when the read fails or the range holds too many.
boost::asio::awaitable<std::optional<ReplayRefusal>> response_jobs(const ReplayServices& services,
                                                                   const ActiveIntegration& integration,
                                                                   const ReplayRange& range,
                                                                   std::vector<JobRow>& jobs) {
  ResponseFilter filter;
  filter.since = ns_to_utc(range.since_ns);
  filter.until = ns_to_utc(range.until_ns);
  filter.limit = replay_page;
  for (;;) {
    Result<std::vector<ResponseRow>> rows = Status::internal("the page was not read");
    bool ran = co_await read_page(
        services, [&] { rows = services.forms.list_responses(integration.definition.source_id, filter); });
    if (!ran) co_return ReplayRefusal{ReplayRefusal::Kind::busy, Status::ok(), {}};
    if (!rows.is_ok()) co_return store_failed(rows.status(), "responses");
    for (const ResponseRow& r : rows.value()) {
      jobs.push_back(
          IntegrationRegistry::make_job(integration, trigger_response_created, r.id, {.revision = r.revision}));
    }
    if (jobs.size() > max_replay_jobs) co_return ReplayRefusal{ReplayRefusal::Kind::too_many, Status::ok(), {}};
    if (rows.value().size() < filter.limit) co_return std::nullopt;
    filter.after_seq = rows.value().back().seq;
  }
}

// The same for an app's events.
boost::asio::awaitable<std::optional<ReplayRefusal>> event_jobs(const ReplayServices& services,
                                                                const ActiveIntegration& integration,
                                                                const ReplayRange& range, std::vector<JobRow>& jobs) {
  EventFilter filter;
  filter.app_id = integration.definition.source_id;
  filter.since_ns = range.since_ns;
  filter.until_ns = range.until_ns;
  filter.limit = replay_page;
  std::string payload;
  for (;;) {
    Result<std::vector<EventRow>> rows = Status::internal("the page was not read");
    bool ran = co_await read_page(services, [&] { rows = services.events.list_events(filter); });
    if (!ran) co_return ReplayRefusal{ReplayRefusal::Kind::busy, Status::ok(), {}};
    if (!rows.is_ok()) co_return store_failed(rows.status(), "events");
    for (const EventRow& e : rows.value()) {
      payload.clear();
      append_event(payload, e);
      jobs.push_back(IntegrationRegistry::make_job(integration, trigger_event_created, e.id, {.json = payload}));
    }
    if (jobs.size() > max_replay_jobs) co_return ReplayRefusal{ReplayRefusal::Kind::too_many, Status::ok(), {}};
    if (rows.value().size() < filter.limit) co_return std::nullopt;
    filter.after = std::make_pair(rows.value().back().ts_ns, rows.value().back().seq);
  }
}

}  // namespace

boost::asio::awaitable<ReplayOutcome> replay(ReplayServices services, ReplayRange range) {
  auto integration = services.integrations.find(range.integration_id);
  if (!integration) co_return ReplayRefusal{ReplayRefusal::Kind::not_found, Status::ok(), {}};
  if (!integration->definition.enabled) co_return ReplayRefusal{ReplayRefusal::Kind::disabled, Status::ok(), {}};

  std::vector<JobRow> jobs;
  std::optional<ReplayRefusal> refusal;
  if (integration->definition.source_kind == "form") {
    refusal = co_await response_jobs(services, *integration, range, jobs);
  } else {
    refusal = co_await event_jobs(services, *integration, range, jobs);
  }
  if (refusal) co_return std::move(*refusal);

  for (std::size_t from = 0; from < jobs.size(); from += insert_slice) {
    auto first = jobs.begin() + static_cast<std::ptrdiff_t>(from);
    auto last = jobs.begin() + static_cast<std::ptrdiff_t>(std::min(jobs.size(), from + insert_slice));
    std::vector<JobRow> slice(std::make_move_iterator(first), std::make_move_iterator(last));
    Status status = co_await services.jobs.insert_jobs(std::move(slice));
    if (!status.is_ok()) co_return store_failed(std::move(status), "jobs");
  }
  if (!jobs.empty() && services.runner) services.runner->wake();
  co_return Replayed{jobs.size()};
}

}  // namespace daisy::jobs
