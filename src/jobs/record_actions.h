#pragma once
// What a stored record sets off, in the one order that keeps actions from
// being missed or done twice:
//   1. before the commit, add_jobs: the async jobs each record triggers, which
//      the caller stores in the record's own transaction;
//   2. after the commit, committed: the runner is woken for those jobs, then
//      the sync integrations are called and their answers join the actions.
// Submissions, corrections and event ingestion all go through it; nothing
// happens when the server runs without integrations (both pointers null).

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/integration_registry.h"

namespace daisy::jobs {

class JobRunner;

class RecordActions {
 public:
  RecordActions(const IntegrationRegistry* integrations, JobRunner* runner, std::string_view source_id,
                std::string_view trigger)
      : integrations_(integrations), runner_(runner), source_id_(source_id), trigger_(trigger) {}

  // False when no integration is attached to the source (cheap: skip the jobs' payloads).
  bool any() const { return integrations_ && integrations_->any_for(source_id_); }
  // Before the commit: appends to `jobs` the jobs this record triggers.
  void add_jobs(std::string_view record_id, JobPayload payload, std::vector<JobRow>& jobs);
  // After the commit. Wakes the runner when jobs were made; then, for one
  // record (record_id not empty), calls the sync integrations with the
  // record's JSON (payload() is called only when there are some).
  boost::asio::awaitable<void> committed(std::string_view record_id, const std::function<std::string()>& payload);
  // The actions as the reply shows them: the jobs made, then the sync answers.
  std::vector<TriggeredAction>& actions() { return actions_; }

 private:
  const IntegrationRegistry* integrations_;
  JobRunner* runner_;
  std::string_view source_id_, trigger_;
  std::vector<TriggeredAction> actions_;
};

}  // namespace daisy::jobs
