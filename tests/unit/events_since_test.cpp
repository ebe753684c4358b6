// Finding where a stream's read-back of events starts (store/event_store.h):
// the first seq received at or after a time, by bisecting seq, over gaps.
#include <gtest/gtest.h>

#include <map>

#include "store/event_store.h"

namespace daisy {
namespace {

// Events by seq -> received_ns, probed as a backend would.
struct Events {
  std::map<std::int64_t, std::int64_t> received;
  int probes = 0;

  EventProbe probe() {
    return [this](std::int64_t seq) -> Result<std::optional<std::pair<std::int64_t, std::int64_t>>> {
      ++probes;
      auto it = received.lower_bound(seq);
      if (it == received.end()) return std::optional<std::pair<std::int64_t, std::int64_t>>{};
      return std::optional(std::pair(it->first, it->second));
    };
  }
  std::int64_t max_seq() const { return received.empty() ? 0 : received.rbegin()->first; }
  std::int64_t start(std::int64_t since_ns) { return first_seq_received_since(probe(), max_seq(), since_ns).value(); }
  // The first event a read from `start` finds (0: none).
  std::int64_t found_from(std::int64_t since_ns) {
    auto it = received.lower_bound(start(since_ns));
    return it == received.end() ? 0 : it->first;
  }
};

TEST(FirstSeqReceivedSince, FindsTheFirstEventAtOrAfterTheTime) {
  Events e;
  for (std::int64_t seq = 1; seq <= 1000; ++seq) e.received[seq] = seq * 10;
  EXPECT_EQ(e.start(0), 1);
  EXPECT_EQ(e.start(10), 1);
  EXPECT_EQ(e.start(11), 2);
  EXPECT_EQ(e.start(5000), 500);
  EXPECT_EQ(e.start(10000), 1000);
  EXPECT_EQ(e.start(10001), 1001) << "after the last: nothing yet";
  e.probes = 0;
  e.start(4321);
  EXPECT_LE(e.probes, 12) << "a bisection, not a scan";
}

TEST(FirstSeqReceivedSince, CopesWithGapsInSeqAndNoEvents) {
  Events none;
  EXPECT_EQ(none.start(100), 1);
  Events e;
  // Trimmed at the front, holes in the middle.
  for (std::int64_t seq : {50, 51, 52, 90, 91, 200, 201, 202, 500}) e.received[seq] = seq;
  EXPECT_EQ(e.found_from(0), 50);
  EXPECT_EQ(e.found_from(52), 52);
  EXPECT_EQ(e.found_from(53), 90);
  EXPECT_EQ(e.found_from(92), 200);
  EXPECT_EQ(e.found_from(203), 500);
  EXPECT_EQ(e.found_from(501), 0);
  EXPECT_GT(e.start(501), 500);
}

TEST(FirstSeqReceivedSince, AProbeFailureIsReturned) {
  EventProbe failing = [](std::int64_t) -> Result<std::optional<std::pair<std::int64_t, std::int64_t>>> {
    return Status::unavailable("down");
  };
  EXPECT_FALSE(first_seq_received_since(failing, 10, 5).is_ok());
}

}  // namespace
}  // namespace daisy
