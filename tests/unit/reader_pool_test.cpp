// The readers: heavy reads run on their own threads and resume the caller on
// its executor; admission is bounded by the queue and by the wait.
#include "http/reader_pool.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <future>
#include <stdexcept>
#include <thread>

#include "test_support.h"

namespace {

using daisy::http::ReaderPool;
using daisy::http::ReaderPoolSettings;
using Outcome = ReaderPool::Outcome;

std::string this_threads_name() {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof name);
  return name;
}

ReaderPoolSettings one_reader(std::size_t max_queued, std::chrono::milliseconds max_wait = std::chrono::seconds(30)) {
  ReaderPoolSettings s;
  s.threads = 1;
  s.max_queued = max_queued;
  s.max_wait = max_wait;
  s.lower_priority = false;
  return s;
}

// Occupies the pool's only reader until release() (or the gate's end).
class Gate {
 public:
  explicit Gate(ReaderPool& pool) {
    auto running = started_.get_future();
    thread_ = std::thread([this, &pool] {
      // As a continuation: exempt from the pool's wait limit, which a test
      // may set to 1 ms and a loaded machine can take to start the reader
      // (the gate's work was then refused and never started: a hang).
      daisy::test::run_awaitable(pool.run(
          [this] {
            started_.set_value();
            released_.get_future().wait();
          },
          true));
    });
    running.wait();
  }
  void release() {
    if (!done_) released_.set_value();
    done_ = true;
  }
  ~Gate() {
    release();
    thread_.join();
  }

 private:
  std::promise<void> started_;
  std::promise<void> released_;
  bool done_ = false;
  std::thread thread_;
};

// Waits until `count` works wait in the queue; the metrics say so.
void wait_until_queued(const ReaderPool& pool, int count) {
  std::string want = "daisy_reader_queued " + std::to_string(count) + "\n";
  std::string metrics;
  for (int i = 0; i < 10'000; ++i) {
    metrics.clear();
    pool.render_metrics(metrics);
    if (metrics.find(want) != std::string::npos) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  FAIL() << "never queued: " << metrics;
}

TEST(ReaderPool, RunsTheWorkOnAReaderAndResumesTheCallerOnItsThread) {
  ReaderPool pool(one_reader(4));
  boost::asio::io_context ioc;
  std::string worker_name;
  std::thread::id resumed_on;
  std::optional<Outcome> outcome;
  boost::asio::co_spawn(
      ioc,
      [&]() -> boost::asio::awaitable<void> {
        outcome = co_await pool.run([&] { worker_name = this_threads_name(); });
        resumed_on = std::this_thread::get_id();
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  ioc.run();
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(*outcome, Outcome::ran);
  EXPECT_EQ(worker_name, "daisy-read-0");
  EXPECT_EQ(resumed_on, std::this_thread::get_id());
}

TEST(ReaderPool, RefusesPastTheQueueLimitWithoutRunningTheWork) {
  ReaderPool pool(one_reader(1));
  Gate gate(pool);
  // One waits in the queue (admitted), the next is refused at once.
  std::promise<Outcome> queued_outcome;
  std::thread queued([&] { queued_outcome.set_value(daisy::test::run_awaitable(pool.run([] {}))); });
  wait_until_queued(pool, 1);
  bool ran = false;
  EXPECT_EQ(daisy::test::run_awaitable(pool.run([&] { ran = true; })), Outcome::queue_full);
  EXPECT_FALSE(ran);
  // A continuation of a reply already started is admitted all the same.
  std::promise<Outcome> continuation_outcome;
  std::thread continuation(
      [&] { continuation_outcome.set_value(daisy::test::run_awaitable(pool.run([&] { ran = true; }, true))); });
  gate.release();
  queued.join();
  continuation.join();
  EXPECT_EQ(queued_outcome.get_future().get(), Outcome::ran);
  EXPECT_EQ(continuation_outcome.get_future().get(), Outcome::ran);
  EXPECT_TRUE(ran);
  std::string metrics;
  pool.render_metrics(metrics);
  EXPECT_NE(metrics.find("daisy_reader_refused_total{reason=\"queue_full\"} 1\n"), std::string::npos) << metrics;
}

TEST(ReaderPool, WorkThatWaitedPastItsDeadlineIsNotRun) {
  ReaderPool pool(one_reader(4, std::chrono::milliseconds(1)));
  std::promise<Outcome> outcome;
  bool ran = false;
  {
    Gate gate(pool);
    std::thread waiting([&] { outcome.set_value(daisy::test::run_awaitable(pool.run([&] { ran = true; }))); });
    wait_until_queued(pool, 1);
    // Held well past the 1 ms the queued work may wait.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    gate.release();
    waiting.join();
  }
  EXPECT_EQ(outcome.get_future().get(), Outcome::waited_too_long);
  EXPECT_FALSE(ran);
  std::string metrics;
  pool.render_metrics(metrics);
  EXPECT_NE(metrics.find("daisy_reader_refused_total{reason=\"waited_too_long\"} 1\n"), std::string::npos);
}

TEST(ReaderPool, AnExceptionFromTheWorkReachesTheCaller) {
  ReaderPool pool(one_reader(4));
  EXPECT_THROW(daisy::test::run_awaitable(pool.run([] { throw std::runtime_error("broken read"); })),
               std::runtime_error);
  // The reader survives it.
  EXPECT_EQ(daisy::test::run_awaitable(pool.run([] {})), Outcome::ran);
}

TEST(ReaderPool, AfterStopTheWorkRunsOnTheCaller) {
  ReaderPool pool(one_reader(4));
  pool.stop();
  std::thread::id ran_on;
  EXPECT_EQ(daisy::test::run_awaitable(pool.run([&] { ran_on = std::this_thread::get_id(); })), Outcome::ran);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

}  // namespace
