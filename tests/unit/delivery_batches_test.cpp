// How claimed jobs become deliveries (jobs/delivery_batches.h), and the
// default batch delivery of an action kind (each job in turn).
#include "jobs/delivery_batches.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <map>
#include <string>

#include "jobs/kinds/action_kind.h"

namespace {

using daisy::AttemptOutcome;
using daisy::JobRow;
using daisy::jobs::group_for_delivery;

JobRow job(std::string id, std::string integration) {
  JobRow j;
  j.id = std::move(id);
  j.integration_id = std::move(integration);
  return j;
}

// "a1 a2 | b1" : the deliveries' job ids.
std::string shape(const std::vector<std::vector<JobRow>>& deliveries) {
  std::string out;
  for (const auto& d : deliveries) {
    if (!out.empty()) out += " | ";
    for (std::size_t i = 0; i < d.size(); ++i) out += (i ? " " : "") + d[i].id;
  }
  return out;
}

TEST(DeliveryBatches, OneJobPerDeliveryUnlessTheKindBatches) {
  std::vector<JobRow> claimed = {job("a1", "a"), job("b1", "b"), job("a2", "a"), job("b2", "b")};
  auto one_each = group_for_delivery(claimed, [](std::string_view) { return std::size_t{1}; });
  EXPECT_EQ(shape(one_each), "a1 | b1 | a2 | b2");
  auto zero = group_for_delivery(claimed, [](std::string_view) { return std::size_t{0}; });
  EXPECT_EQ(shape(zero), "a1 | b1 | a2 | b2");
}

TEST(DeliveryBatches, ABatchingKindGetsItsIntegrationsJobsTogetherUpToItsLimit) {
  std::map<std::string, std::size_t, std::less<>> limits = {{"sheet", 3}, {"hook", 1}};
  auto limit = [&](std::string_view id) { return limits.find(id)->second; };
  std::vector<JobRow> claimed = {job("s1", "sheet"), job("h1", "hook"), job("s2", "sheet"), job("s3", "sheet"),
                                 job("s4", "sheet"), job("h2", "hook"), job("s5", "sheet")};
  // Claim order is kept within a batch, and batches stand where their first job was claimed.
  EXPECT_EQ(shape(group_for_delivery(claimed, limit)), "s1 s2 s3 | h1 | s4 s5 | h2");
}

TEST(DeliveryBatches, BatchesOfDifferentIntegrationsNeverMix) {
  auto limit = [](std::string_view) { return std::size_t{10}; };
  std::vector<JobRow> claimed = {job("x1", "x"), job("y1", "y"), job("x2", "x"), job("y2", "y")};
  EXPECT_EQ(shape(group_for_delivery(claimed, limit)), "x1 x2 | y1 y2");
  EXPECT_TRUE(group_for_delivery({}, limit).empty());
}

// A kind that only knows single deliveries: the outcome names the job.
class EchoKind final : public daisy::jobs::ActionKind {
 public:
  boost::asio::awaitable<AttemptOutcome> deliver(const daisy::jobs::ActiveIntegration&, const JobRow& job) override {
    AttemptOutcome outcome;
    outcome.status = "succeeded";
    outcome.attempt.error = "delivered " + job.id;
    co_return outcome;
  }
  AttemptOutcome settle_unanswered(const daisy::jobs::ActiveIntegration&, const JobRow&) override { return {}; }
};

TEST(DeliveryBatches, TheDefaultBatchDeliversEachJobInTurn) {
  boost::asio::io_context io;
  EchoKind kind;
  daisy::jobs::ActiveIntegration integration;
  std::vector<JobRow> jobs = {job("j1", "i"), job("j2", "i"), job("j3", "i")};
  auto done = boost::asio::co_spawn(io, kind.deliver_batch(integration, jobs), boost::asio::use_future);
  io.run();
  std::vector<AttemptOutcome> outcomes = done.get();
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_EQ(outcomes[0].attempt.error, "delivered j1");
  EXPECT_EQ(outcomes[1].attempt.error, "delivered j2");
  EXPECT_EQ(outcomes[2].attempt.error, "delivered j3");
  EXPECT_EQ(kind.max_batch(), 1u);
}

}  // namespace
