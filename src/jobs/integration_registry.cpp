#include "jobs/integration_registry.h"

#include <spdlog/spdlog.h>

#include <mutex>

#include "jobs/kinds/kind_registry.h"
#include "observability/log_value.h"
#include "util/ids.h"
#include "util/time.h"

namespace daisy::jobs {

// Every stored integration, or nullopt (and a log line) when the store fails.
static std::optional<std::vector<IntegrationRow>> read_all(JobStore& store) {
  std::vector<IntegrationRow> all;
  Page page;
  page.limit = 1000;
  for (;;) {
    auto rows = store.list_integrations(page);
    if (!rows.is_ok()) {
      spdlog::error("msg=\"cannot load integrations\" error={}", log_value(rows.status().message()));
      return std::nullopt;
    }
    for (IntegrationRow& row : rows.value()) all.push_back(std::move(row));
    if (rows.value().size() < page.limit) return all;
    page.after = all.back().id;
  }
}

bool IntegrationRegistry::load(JobStore& store) {
  auto all = read_all(store);
  if (!all) return false;
  for (const IntegrationRow& row : *all) put(row);
  return true;
}

bool IntegrationRegistry::reload(JobStore& store) {
  // Known before the read: each is committed (the registry changes after the
  // store), so one the read does not return was deleted. One added here
  // after this point is not in the list, whatever the read saw.
  std::vector<std::string> known;
  {
    std::shared_lock lock(mu_);
    for (const auto& [id, integration] : by_id_) known.push_back(id);
  }
  auto all = read_all(store);
  if (!all) return false;
  std::unordered_set<std::string> stored;
  for (const IntegrationRow& row : *all) {
    stored.insert(row.id);
    put(row, Source::store);
  }
  for (const auto& id : known) {
    if (!stored.count(id)) remove(id);
  }
  return true;
}

void IntegrationRegistry::put(const IntegrationRow& row, Source source) {
  auto definition = integration_definition_from_json(row.definition, integration_kinds());
  if (!definition) {
    spdlog::error("msg=\"stored integration definition is unreadable; integration skipped\" integration={}", row.id);
    return;
  }
  auto active = std::make_shared<ActiveIntegration>();
  active->id = row.id;
  active->definition = std::move(*definition);
  active->secret = row.secret;
  active->previous_secret = row.previous_secret;
  active->previous_until = row.previous_until;
  active->disabled_reason = row.disabled_reason;
  active->updated_at = row.updated_at;
  std::unique_lock lock(mu_);
  if (deleted_.count(row.id)) return;
  auto& slot = by_id_[row.id];
  if (slot && source == Source::this_node && slot->updated_at > active->updated_at) return;
  slot = std::move(active);
  index_locked();
}

void IntegrationRegistry::remove(const std::string& id) {
  std::unique_lock lock(mu_);
  deleted_.insert(id);
  by_id_.erase(id);
  index_locked();
}

void IntegrationRegistry::index_locked() {
  by_source_.clear();
  for (const auto& [id, integration] : by_id_) by_source_[integration->definition.source_id].push_back(integration);
  count_ = by_id_.size();
}

std::shared_ptr<const ActiveIntegration> IntegrationRegistry::find(std::string_view id) const {
  std::shared_lock lock(mu_);
  auto it = by_id_.find(std::string(id));
  return it == by_id_.end() ? nullptr : it->second;
}

bool IntegrationRegistry::any_for(std::string_view source_id) const {
  if (count_.load(std::memory_order_relaxed) == 0) return false;
  std::shared_lock lock(mu_);
  return by_source_.count(std::string(source_id)) > 0;
}

void IntegrationRegistry::add_jobs(std::string_view source_id, std::string_view trigger, std::string_view record_id,
                                   JobPayload payload, std::vector<JobRow>& jobs,
                                   std::vector<TriggeredAction>* actions) const {
  if (count_.load(std::memory_order_relaxed) == 0) return;
  std::shared_lock lock(mu_);
  auto it = by_source_.find(std::string(source_id));
  if (it == by_source_.end()) return;
  for (const auto& integration : it->second) {
    const IntegrationDefinition& d = integration->definition;
    if (!d.enabled || d.mode != "async" || !d.runs_on(trigger)) continue;
    JobRow job = make_job(*integration, trigger, record_id, payload);
    if (actions) actions->push_back({integration->id, job.id, "async", "pending"});
    jobs.push_back(std::move(job));
  }
}

std::vector<std::shared_ptr<const ActiveIntegration>> IntegrationRegistry::sync_for(std::string_view source_id,
                                                                                    std::string_view trigger) const {
  std::vector<std::shared_ptr<const ActiveIntegration>> out;
  if (count_.load(std::memory_order_relaxed) == 0) return out;
  std::shared_lock lock(mu_);
  auto it = by_source_.find(std::string(source_id));
  if (it == by_source_.end()) return out;
  for (const auto& integration : it->second) {
    const IntegrationDefinition& d = integration->definition;
    if (d.enabled && d.mode == "sync" && d.runs_on(trigger)) out.push_back(integration);
  }
  return out;
}

JobRow IntegrationRegistry::make_job(const ActiveIntegration& integration, std::string_view trigger,
                                     std::string_view record_id, JobPayload payload) {
  const IntegrationDefinition& d = integration.definition;
  JobRow job;
  job.id = new_uuid_v7();
  job.integration_id = integration.id;
  job.source_id = std::string(record_id);
  job.type = std::string(trigger);
  job.payload = std::string(payload.json);
  job.revision = payload.revision;
  job.status = "pending";
  job.created_at = now_utc();
  int first_delay_s = d.retry_schedule_s.empty() ? 0 : d.retry_schedule_s.front();
  job.due_ms = now_ms() + std::int64_t{first_delay_s} * 1000;
  return job;
}

}  // namespace daisy::jobs
