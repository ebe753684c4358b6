#pragma once
// Webhook integrations: each job is one signed POST of its payload
// (Standard Webhooks headers), paced by the integration's own limits
// (max_in_flight, max_per_second). A 2xx ends the job; 410 Gone buries it and
// disables the integration; anything else fails the attempt, honouring a
// Retry-After on 429 and 503. Each outcome also says whether the receiver is
// failing (no answer, 5xx, 429), for the integration's back-off.
//
// The limits are held here for this process's deliveries; where the store
// paces integrations (PostgreSQL) its claims hold them for all nodes too.
//
// Sync webhooks are also called here, within the request that stored the
// record (call_sync_webhooks): only a webhook can answer that fast.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "jobs/kinds/action_kind.h"

namespace daisy::jobs {

class WebhookAction final : public ActionKind {
 public:
  explicit WebhookAction(const ActionKindServices& services) : services_(services) {}
  boost::asio::awaitable<AttemptOutcome> deliver(const ActiveIntegration& integration, const JobRow& job) override;
  // A webhook's outcome is known when its request ends; should a job come
  // back unanswered anyway, the attempt counts as failed.
  AttemptOutcome settle_unanswered(const ActiveIntegration& integration, const JobRow& job) override;

 private:
  // Waits until the integration may send one more request; end_turn when
  // that request is over.
  boost::asio::awaitable<void> take_turn(const ActiveIntegration& integration);
  void end_turn(const std::string& integration_id);

  struct Pace {
    std::size_t in_flight = 0;
    std::chrono::steady_clock::time_point next_slot{};
    std::deque<std::shared_ptr<boost::asio::steady_timer>> waiting;  // for a place in flight
  };
  ActionKindServices services_;
  std::unordered_map<std::string, Pace> paces_;  // runner thread only
};

// Calls these sync webhooks at once for a record just stored and returns
// what each answered (each by its timeout); nothing is retried or kept.
// Resumes on the caller's executor.
boost::asio::awaitable<std::vector<TriggeredAction>> call_sync_webhooks(
    net::Fetcher& fetcher, std::vector<std::shared_ptr<const ActiveIntegration>> integrations, std::string type,
    std::string record_id, std::string payload);

}  // namespace daisy::jobs
