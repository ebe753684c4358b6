// Memory given back: after a burst of large request bodies the server's
// resident memory returns near where it was within seconds. Runs in the
// e2e.release pass, against the optimised build with tcmalloc (what
// operators run): the sanitizer build's allocator keeps freed memory in
// quarantine on purpose, so there the test is skipped.
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "harness.h"
#include "suite_support.h"

namespace daisy_e2e {
namespace {

namespace json = boost::json;

class MemoryTest : public OwnedServers {
 protected:
  void SetUp() override {
    const char* binary = std::getenv("DAISY_TEST_BINARY");
    if (!binary || !*binary) {
      GTEST_SKIP() << "runs in the e2e.release pass, against the optimised tcmalloc build "
                      "(the sanitizer build keeps freed memory in quarantine)";
    }
  }
};

TEST_F(MemoryTest, ABurstOfLargeBodiesIsGivenBack) {
  DaisyProcess& d = make();
  ASSERT_TRUE(d.start()) << d.start_error();
  HttpResponse app = d.create_app("burst");
  ASSERT_EQ(app.status, 201) << app.summary();
  std::string token(app.json().at("token").as_string());

  // About 15 MiB of NDJSON events per body (under 10,000 events of under 64 KiB each).
  const std::string pad(4000, 'x');
  std::string body;
  for (int i = 0; body.size() < 15u * 1024 * 1024; ++i) {
    body += R"({"session_id":"0193a1b2-c3d4-7000-8000-123456789abc","category":"burst","name":"big","data":{"i":)" +
            std::to_string(i) + R"(,"pad":")" + pad + R"("},"timestamp":"2026-01-01T10:00:00Z"})" + "\n";
  }
  Headers headers = with(bearer(token), {{"Content-Type", "application/x-ndjson"}});
  ASSERT_EQ(d.request("POST", "/v1/events", headers, body).status, 202);
  std::this_thread::sleep_for(3s);
  const std::size_t before = resident_bytes(d.pid());
  ASSERT_GT(before, 0u);

  constexpr int concurrent = 20;
  std::size_t peak = 0;
  std::vector<std::thread> senders;
  std::atomic<int> accepted{0};
  for (int i = 0; i < concurrent; ++i) {
    senders.emplace_back([&] {
      if (d.request("POST", "/v1/events", headers, body).status == 202) ++accepted;
    });
  }
  for (int i = 0; i < 20; ++i) {
    peak = std::max(peak, resident_bytes(d.pid()));
    std::this_thread::sleep_for(100ms);
  }
  for (auto& s : senders) s.join();
  peak = std::max(peak, resident_bytes(d.pid()));
  EXPECT_EQ(accepted.load(), concurrent);

  // Given back within seconds: near the resident size before the burst.
  constexpr std::size_t slack = 96u * 1024 * 1024;
  std::size_t after = 0;
  bool settled = eventually([&] { return (after = resident_bytes(d.pid())) < before + slack; }, 15s);
  EXPECT_TRUE(settled) << "resident memory: " << before / (1024 * 1024) << " MiB before the burst, "
                       << peak / (1024 * 1024) << " MiB at its peak, still " << after / (1024 * 1024)
                       << " MiB 15 s after it";
  EXPECT_GT(peak, before + slack) << "the burst did not grow the process enough to tell";
}

}  // namespace
}  // namespace daisy_e2e
