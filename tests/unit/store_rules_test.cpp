// The decisions every store backend makes alike, above their SQL
// (store/job_store.cpp, form_store.cpp, feed_store.cpp). The e2e suites run
// them through both backends; these pin each rule on its own.
#include <gtest/gtest.h>

#include "store/feed_store.h"
#include "store/form_store.h"
#include "store/job_store.h"

namespace {

using namespace daisy;

JobRow job_in(std::string status, int attempts = 1) {
  JobRow j;
  j.id = "job-1";
  j.status = std::move(status);
  j.attempts = attempts;
  j.due_ms = 5;
  j.updated_at = "2026-01-01T00:00:00.000Z";
  return j;
}

TEST(StoreRules, AJobMovesOnlyFromTheStatesGiven) {
  EXPECT_TRUE(check_job_transition(job_in("failed"), job_states_retryable).is_ok());
  EXPECT_TRUE(check_job_transition(job_in("cancelled"), job_states_retryable).is_ok());
  EXPECT_TRUE(check_job_transition(job_in("awaiting_callback"), job_states_cancellable).is_ok());

  Status refused = check_job_transition(job_in("succeeded"), job_states_retryable);
  EXPECT_EQ(refused.code(), Status::Code::conflict);
  EXPECT_EQ(refused.message(), "the job is succeeded");
  EXPECT_EQ(check_job_transition(job_in("dead"), job_states_cancellable).code(), Status::Code::conflict);
}

TEST(StoreRules, AMovedJobCarriesItsNewStatusDueTimeAndChangeTime) {
  JobRow moved = job_after_transition(job_in("failed", 3), "pending", 1234, "2026-02-02T00:00:00.000Z");
  EXPECT_EQ(moved.status, "pending");
  EXPECT_EQ(moved.due_ms, 1234);
  EXPECT_EQ(moved.updated_at, "2026-02-02T00:00:00.000Z");
  EXPECT_EQ(moved.id, "job-1");
  EXPECT_EQ(moved.attempts, 3);  // a move is not an attempt
}

TEST(StoreRules, AnOutcomeAppliesOnlyToTheAttemptItEnds) {
  AttemptOutcome outcome;
  outcome.attempt_number = 2;
  outcome.from_status = "running";
  EXPECT_TRUE(outcome_applies(job_in("running", 2), outcome));
  EXPECT_FALSE(outcome_applies(job_in("cancelled", 2), outcome));  // cancelled meanwhile
  EXPECT_FALSE(outcome_applies(job_in("running", 3), outcome));    // claimed again after the lease ran out

  outcome.from_status = "awaiting_callback";  // a callback ends the publish's attempt
  EXPECT_TRUE(outcome_applies(job_in("awaiting_callback", 2), outcome));
  EXPECT_FALSE(outcome_applies(job_in("succeeded", 2), outcome));  // called back already
}

TEST(StoreRules, AFailingReceiverIsPausedFromItsThirdFailureInARowEachPauseTwiceTheLast) {
  std::int64_t now = 1'000'000;
  ReceiverBackOff b;
  b = after_receiver_failure(b, 0, now);
  b = after_receiver_failure(b, 0, now);
  EXPECT_EQ(b.failures, 2);
  EXPECT_EQ(b.paused_until_ms, 0);
  b = after_receiver_failure(b, 0, now);
  EXPECT_EQ(b.paused_until_ms, now + 1000);
  EXPECT_EQ(b.pauses, 1);
  // Failures of requests in flight when the pause began do not lengthen it.
  for (int i = 0; i < 100; ++i) b = after_receiver_failure(b, 0, now + 10);
  EXPECT_EQ(b.paused_until_ms, now + 1000);
  EXPECT_EQ(b.pauses, 1);
  // Each failed trial after a pause: twice as long, up to 5 minutes.
  std::int64_t expected = 2000;
  for (int pause = 2; pause <= 12; ++pause, expected = std::min<std::int64_t>(expected * 2, 300'000)) {
    now = b.paused_until_ms;
    b = after_receiver_failure(b, 0, now);
    EXPECT_EQ(b.paused_until_ms - now, expected) << "pause " << pause;
  }
  EXPECT_EQ(b.paused_until_ms - now, 300'000);
}

TEST(StoreRules, AReceiversRetryAfterPausesItFromItsFirstFailureUpToAnHour) {
  const std::int64_t now = 1'000'000;
  EXPECT_EQ(after_receiver_failure({}, now + 5000, now).paused_until_ms, now + 5000);
  EXPECT_EQ(after_receiver_failure({}, now + 7'200'000, now).paused_until_ms, now + 3'600'000);
  EXPECT_EQ(after_receiver_failure({}, now - 1, now).paused_until_ms, 0);
  // A pause that is longer wins over a shorter Retry-After.
  ReceiverBackOff on_trial{.failures = 2, .pauses = 3, .paused_until_ms = 0};
  EXPECT_EQ(after_receiver_failure(on_trial, now + 1000, now).paused_until_ms, now + 8000);
}

TEST(StoreRules, AKnownIdempotencyKeyReplaysOnlyTheSameRequest) {
  EXPECT_EQ(outcome_of_known_key("hash-a", "hash-a"), SubmitOutcome::replayed);
  EXPECT_EQ(outcome_of_known_key("hash-a", "hash-b"), SubmitOutcome::key_mismatch);
  EXPECT_EQ(outcome_of_known_key("", "hash-b"), SubmitOutcome::key_mismatch);
}

TEST(StoreRules, APlanIsTheSameWhenEveryValueButItsKeysIs) {
  PlanRow a{.base_plan_id = "b1",
            .plan_id = "p1",
            .id = "x",
            .title = "Show",
            .sell_mode = "online",
            .starts_local = "2024-01-01T20:00:00",
            .ends_local = "2024-01-01T22:00:00",
            .min_price = "10.00",
            .max_price = "20.00",
            .attributes = "{}"};
  PlanRow b = a;
  b.base_plan_id = "other";
  b.plan_id = "other";
  b.id = "other";
  EXPECT_TRUE(same_plan_values(a, b));
  for (std::string PlanRow::*field :
       {&PlanRow::title, &PlanRow::sell_mode, &PlanRow::starts_local, &PlanRow::ends_local, &PlanRow::min_price,
        &PlanRow::max_price, &PlanRow::attributes}) {
    PlanRow changed = a;
    changed.*field += "!";
    EXPECT_FALSE(same_plan_values(a, changed));
  }
}

}  // namespace
