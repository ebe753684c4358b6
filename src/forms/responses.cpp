#include "forms/responses.h"

#include "jobs/record_actions.h"
#include "live/publish.h"
#include "store/record_json.h"
#include "util/crypto.h"
#include "util/ids.h"
#include "util/json_text.h"
#include "util/time.h"

namespace daisy::forms {

bool valid_idempotency_key(std::string_view key) {
  if (key.empty() || key.size() > 255) return false;
  for (unsigned char c : key) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}
namespace {

namespace json = boost::json;

Refusal store_failed(Status status, std::string what) {
  return {Refusal::Kind::store_failed, std::move(what), {}, std::move(status)};
}

Refusal key_reused() { return {Refusal::Kind::key_reused, {}, {}, {}}; }

json::array checks_json(const std::vector<RuleOutcome>& outcomes) {
  json::array checks;
  for (const auto& o : outcomes) {
    json::object c{{"rule", o.rule}, {"passed", o.passed}};
    if (!o.passed) c["message"] = o.message;
    checks.push_back(std::move(c));
  }
  return checks;
}

// Checks answers against the form's current version: questions first, then
// rules. The row to store (form, version, status, answers and checks set),
// or the refusal.
std::variant<std::shared_ptr<ResponseRow>, Refusal> checked_row(ResponseServices& s, const std::string& form_id,
                                                                const json::object& answers) {
  auto loaded = s.forms.get(form_id);
  if (!loaded.is_ok()) return store_failed(loaded.status(), "form " + form_id);
  const CompiledForm& form = *loaded.value();
  if (form.form.archived()) return Refusal{Refusal::Kind::form_archived, {}, {}, {}};
  auto errors = check_answers(form.form.definition, answers);
  if (!errors.empty()) return Refusal{Refusal::Kind::answers_invalid, {}, std::move(errors), {}};
  auto outcomes = form.rules->evaluate(answers);
  std::vector<FieldError> rejections;
  bool flagged = false;
  for (const auto& o : outcomes) {
    if (o.passed) continue;
    if (o.reject) {
      rejections.push_back({"rules." + o.rule, o.message});
    } else {
      flagged = true;
    }
  }
  if (!rejections.empty()) {
    std::string detail = rejections.front().message;
    return Refusal{Refusal::Kind::rule_rejected, std::move(detail), std::move(rejections), {}};
  }
  auto row = std::make_shared<ResponseRow>();
  row->form_id = form_id;
  row->form_version = form.form.version;
  row->status = flagged ? "flagged" : "accepted";
  row->answers = to_json_text(answers);
  row->checks = to_json_text(checks_json(outcomes));
  return row;
}

// A repeated submission: the stored response and the actions its first
// submission triggered, as they are now.
Outcome replayed(ResponseServices& s, std::shared_ptr<ResponseRow> row) {
  auto jobs = s.jobs.jobs_of_source(row->id);
  if (!jobs.is_ok()) return store_failed(jobs.status(), "response");
  Stored out{row, response_json(*row), {}, true};
  for (const JobRow& job : jobs.value()) {
    if (job.type == trigger_response_created) out.actions.push_back({job.integration_id, job.id, "async", job.status});
  }
  return out;
}

// Tells the live streams of a response just committed (its JSON as the API shows it).
void announce(const ResponseServices& s, live::Kind kind, const ResponseRow& row, const std::string& json) {
  live::publish(s.live, kind, {.app_id = row.app_id, .form_id = row.form_id}, [&json] { return json; });
}

}  // namespace

boost::asio::awaitable<Outcome> submit(ResponseServices s, Submission sub) {
  // A retry is answered from what was stored, before any check: the form may
  // have changed or been archived since, and the client only lost the reply.
  // The hash covers the caller too, so another app's key never returns this one's data.
  std::string hash;
  if (!sub.idempotency_key.empty()) {
    std::string caller = sub.caller.acts_for_app() ? "app:" + sub.caller.app_id : std::string("admin");
    hash = to_hex(bytes_of(sha256(caller + "\n" + std::string(sub.request_bytes))));
    auto earlier = s.store.find_by_idempotency_key(sub.form_id, sub.idempotency_key);
    if (!earlier.is_ok()) co_return store_failed(earlier.status(), "response");
    if (earlier.value()) {
      if (earlier.value()->second != hash) co_return key_reused();
      co_return replayed(s, std::make_shared<ResponseRow>(std::move(earlier.value()->first)));
    }
  }

  auto checked = checked_row(s, sub.form_id, *sub.answers);
  if (auto* refusal = std::get_if<Refusal>(&checked)) co_return std::move(*refusal);
  auto row = std::get<std::shared_ptr<ResponseRow>>(checked);
  std::string received_at = now_utc();
  row->id = new_uuid_v7();
  row->metadata = std::move(sub.metadata);
  row->submitted_at = sub.submitted_at.empty() ? received_at : std::move(sub.submitted_at);
  row->received_at = received_at;
  row->updated_at = received_at;
  row->revision = 1;
  if (sub.caller.acts_for_app()) row->app_id = sub.caller.app_id;

  std::string json = response_json(*row);
  jobs::RecordActions actions(s.integrations, s.runner, sub.form_id, trigger_response_created);
  std::vector<JobRow> jobs;
  // The jobs send revision 1, which the store keeps: no copy of the response.
  actions.add_jobs(row->id, {.revision = 1}, jobs);
  auto stored = co_await s.store.insert_response(row, sub.idempotency_key, hash, std::move(jobs));
  if (!stored.is_ok()) co_return store_failed(stored.status(), "response");
  if (stored.value() == SubmitOutcome::key_mismatch) co_return key_reused();
  if (stored.value() == SubmitOutcome::replayed) co_return replayed(s, row);
  announce(s, live::Kind::response_created, *row, json);
  std::function<std::string()> payload = [&json] { return json; };
  co_await actions.committed(row->id, payload);
  co_return Stored{row, std::move(json), std::move(actions.actions()), false};
}

boost::asio::awaitable<Outcome> correct(ResponseServices s, Correction c) {
  std::string what = "response " + c.response_id;
  auto existing = s.store.get_response(c.form_id, c.response_id);
  if (!existing.is_ok()) co_return store_failed(existing.status(), what);
  // Another app's data does not exist for an app.
  if (c.caller.is_app() && existing.value().app_id != c.caller.app_id)
    co_return store_failed(Status::not_found(), what);
  auto checked = checked_row(s, c.form_id, *c.answers);
  if (auto* refusal = std::get_if<Refusal>(&checked)) co_return std::move(*refusal);
  auto row = std::get<std::shared_ptr<ResponseRow>>(checked);
  row->id = c.response_id;
  row->updated_at = now_utc();

  jobs::RecordActions actions(s.integrations, s.runner, c.form_id, trigger_response_updated);
  std::vector<JobRow> jobs;
  // The jobs send the revision this correction makes (the store sets its number).
  actions.add_jobs(c.response_id, {.revision = existing.value().revision + 1}, jobs);
  Status status = co_await s.store.revise_response(row, std::move(jobs));
  if (!status.is_ok()) co_return store_failed(std::move(status), what);
  std::string json = response_json(*row);
  announce(s, live::Kind::response_updated, *row, json);
  std::function<std::string()> payload = [&json] { return json; };
  co_await actions.committed(c.response_id, payload);
  co_return Stored{row, std::move(json), std::move(actions.actions()), false};
}

}  // namespace daisy::forms
