#include "jobs/job_reads.h"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <limits>

#include "store/record_json.h"
#include "util/time.h"

namespace daisy::jobs {

namespace json = boost::json;

bool is_job_status(std::string_view status) {
  static constexpr std::string_view statuses[] = {"pending", "running", "awaiting_callback", "succeeded",
                                                  "failed",  "dead",    "cancelled"};
  return std::find(std::begin(statuses), std::end(statuses), status) != std::end(statuses);
}

namespace {

std::string ms_to_utc(std::int64_t ms) {
  return format_utc(Clock::time_point{std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(ms))});
}

}  // namespace

json::object job_json(FormStore& records, const JobRow& j) {
  json::object o{{"id", j.id},
                 {"integration_id", j.integration_id},
                 {"source_id", j.source_id},
                 {"type", j.type},
                 {"status", j.status},
                 {"attempts", j.attempts}};
  bool waiting = j.status == "pending" || j.status == "failed";
  if (waiting) {
    o["next_attempt_at"] = ms_to_utc(j.due_ms);
  } else {
    o["next_attempt_at"] = nullptr;
  }
  if (j.last_error.empty()) {
    o["last_error"] = nullptr;
  } else {
    o["last_error"] = j.last_error;
  }
  json::error_code ec;
  auto payload = job_payload(records, j);
  json::value data = payload.is_ok() ? json::parse(payload.value(), ec) : json::value(nullptr);
  o["data"] = ec ? json::value(nullptr) : std::move(data);
  json::value output = j.output.empty() ? json::value(nullptr) : json::parse(j.output, ec);
  o["output"] = ec ? json::value(nullptr) : std::move(output);
  o["created_at"] = j.created_at;
  o["updated_at"] = j.updated_at;
  return o;
}

json::object attempt_json(const JobAttemptRow& a) {
  json::object o{
      {"number", a.number}, {"started_at", a.started_at}, {"duration_ms", a.duration_ms}, {"outcome", a.outcome}};
  if (a.http_status) {
    o["http_status"] = a.http_status;
  } else {
    o["http_status"] = nullptr;
  }
  if (a.error.empty()) {
    o["error"] = nullptr;
  } else {
    o["error"] = a.error;
  }
  if (!a.log.empty()) {
    json::array lines;
    std::string_view rest = a.log;
    for (std::size_t end; (end = rest.find('\n')) != std::string_view::npos; rest.remove_prefix(end + 1)) {
      lines.emplace_back(rest.substr(0, end));
    }
    o["log"] = std::move(lines);
  }
  return o;
}

Result<json::object> job_detail_json(JobStore& jobs, FormStore& records, const JobRow& job) {
  auto attempts = jobs.list_attempts(job.seq);
  if (!attempts.is_ok()) return attempts.status();
  json::object body = job_json(records, job);
  json::array list;
  for (const auto& a : attempts.value()) list.push_back(attempt_json(a));
  body["attempts_log"] = std::move(list);
  return body;
}

boost::asio::awaitable<Result<std::vector<JobRow>>> list_filed_jobs(JobStore& store, const JobFilter& filter,
                                                                    const ReadRunner& run_read) {
  bool outbox_may_match = filter.status.empty() || filter.status == "pending";
  std::size_t slice = filter.limit;
  bool outbox_empty = false;
  for (;;) {
    std::optional<Result<std::vector<JobRow>>> rows;
    auto read = [&] { rows = store.list_jobs(filter); };
    if (!run_read) {
      read();
    } else if (!co_await run_read(read)) {
      co_return std::vector<JobRow>{};
    }
    if (!rows->is_ok() || rows->value().size() >= filter.limit || !outbox_may_match || outbox_empty) {
      co_return std::move(*rows);
    }
    auto filed = co_await store.file_pending_jobs(slice);
    if (!filed.is_ok()) co_return filed.status();
    // Nothing left to file: but the job runner may have filed what this
    // page lacked between the read above and now, so it is read once more.
    outbox_empty = filed.value() == 0;
    slice = std::min<std::size_t>(slice * 8, std::size_t{1} << 20);
  }
}

boost::asio::awaitable<Result<JobRow>> get_filed_job(JobStore& store, const std::string& id) {
  // A job already filed is read at once: filing the outbox first (which can
  // take seconds with a backlog of hundreds of thousands) is only for the rest.
  auto job = store.get_job(id);
  if (job.is_ok() || job.status().code() != Status::Code::not_found) co_return job;
  auto filed = co_await store.file_pending_jobs(std::numeric_limits<std::size_t>::max());
  if (!filed.is_ok()) co_return filed.status();
  co_return store.get_job(id);
}

}  // namespace daisy::jobs
