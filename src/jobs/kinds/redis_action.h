#pragma once
// Redis integrations: each job is published on the integration's channel
// with a callback URL and a one-time token; the microservice that takes it
// calls back (PUT /v1/jobs/{id}/callback) with its outcome. The job awaits
// that callback until callback_timeout_s; then the attempt has failed and
// the job is retried per the schedule.

#include <boost/asio/awaitable.hpp>

#include "jobs/kinds/action_kind.h"
#include "jobs/kinds/redis_publisher.h"

namespace daisy::jobs {

class RedisAction final : public ActionKind {
 public:
  explicit RedisAction(const ActionKindServices& services)
      : services_(services), publisher_(services.allow_private_targets) {}
  boost::asio::awaitable<AttemptOutcome> deliver(const ActiveIntegration& integration, const JobRow& job) override;
  // No callback came in time: the attempt that published has failed.
  AttemptOutcome settle_unanswered(const ActiveIntegration& integration, const JobRow& job) override;

 private:
  ActionKindServices services_;
  RedisPublisher publisher_;
};

}  // namespace daisy::jobs
