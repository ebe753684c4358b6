// The live streams' hub: filters and scope, the ring (resume, gap, falling
// behind), wake-ups across threads, limits and close.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <optional>
#include <thread>

#include "live/live_bus.h"

namespace daisy::live {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

LiveMessage message(Kind kind, std::string app_id, std::string form_id = "", std::string category = "") {
  LiveMessage m;
  m.kind = kind;
  m.app_id = std::move(app_id);
  m.form_id = std::move(form_id);
  m.category = std::move(category);
  m.data = std::make_shared<const std::string>("{}");
  return m;
}

LiveFilter only(Kind kind) {
  LiveFilter f;
  f.kinds.set(static_cast<std::size_t>(kind));
  return f;
}

// One next() of the subscription, run to its end on ioc.
Subscription::Batch next(asio::io_context& ioc, Subscription& s, std::chrono::milliseconds wait = 0ms) {
  std::optional<Subscription::Batch> out;
  asio::co_spawn(
      ioc, [&]() -> asio::awaitable<void> { out = co_await s.next(wait); }, asio::detached);
  ioc.restart();
  ioc.run();
  return out.value();
}

std::vector<std::uint64_t> numbers(const Subscription::Batch& b) {
  std::vector<std::uint64_t> out;
  for (const auto& m : b.messages) out.push_back(m->n);
  return out;
}

TEST(LiveFilterTest, AnAppTokenSeesOnlyItsOwnResponsesAndEvents) {
  LiveFilter f;
  f.scope_app_id = "app-a";
  EXPECT_TRUE(f.matches(message(Kind::response_created, "app-a")));
  EXPECT_TRUE(f.matches(message(Kind::event_rejected, "app-a")));
  EXPECT_FALSE(f.matches(message(Kind::event_created, "app-b")));
  EXPECT_FALSE(f.matches(message(Kind::response_created, "")));  // the admin's response
  EXPECT_FALSE(f.wants(Kind::job_updated));
  EXPECT_FALSE(f.wants(Kind::sync_finished));
}

TEST(LiveFilterTest, EachAttributeAskedForMustBeThereAndEqual) {
  LiveFilter f = only(Kind::response_created);
  f.form_id = "form-1";
  EXPECT_TRUE(f.matches(message(Kind::response_created, "app", "form-1")));
  EXPECT_FALSE(f.matches(message(Kind::response_created, "app", "form-2")));
  EXPECT_FALSE(f.matches(message(Kind::response_updated, "app", "form-1")));  // another type
  LiveFilter by_category;
  by_category.category = "checkout";
  EXPECT_TRUE(by_category.matches(message(Kind::event_created, "app", "", "checkout")));
  EXPECT_FALSE(by_category.matches(message(Kind::response_created, "app", "form-1")));  // has no category
}

TEST(LiveBusTest, AStreamGetsWhatItMatchesInOrderOfPublication) {
  asio::io_context ioc;
  LiveBus bus;
  LiveFilter f;
  f.form_id = "form-1";
  auto s = bus.subscribe(f, std::nullopt, ioc.get_executor());
  ASSERT_TRUE(s);
  bus.publish(message(Kind::response_created, "app", "form-1"));
  bus.publish(message(Kind::response_created, "app", "form-2"));
  bus.publish(message(Kind::event_created, "app", "", "ui"));
  bus.publish(message(Kind::response_updated, "app", "form-1"));
  auto batch = next(ioc, *s);
  EXPECT_EQ(numbers(batch), (std::vector<std::uint64_t>{1, 4}));
  EXPECT_FALSE(batch.gap || batch.behind || batch.closed);
  // Nothing new: an empty batch once the wait is over (time for a heartbeat).
  EXPECT_TRUE(next(ioc, *s, 10ms).messages.empty());
}

TEST(LiveBusTest, ResumesAfterAnIdTheRingHoldsAndSaysGapOtherwise) {
  asio::io_context ioc;
  LiveLimits limits;
  limits.ring_messages = 5;
  LiveBus bus(limits);
  for (int i = 0; i < 10; ++i) bus.publish(message(Kind::event_created, "app"));  // the ring holds 6..10
  auto resumed = bus.subscribe({}, 7, ioc.get_executor());
  EXPECT_EQ(numbers(next(ioc, *resumed)), (std::vector<std::uint64_t>{8, 9, 10}));
  auto just_held = bus.subscribe({}, 5, ioc.get_executor());
  EXPECT_EQ(numbers(next(ioc, *just_held)), (std::vector<std::uint64_t>{6, 7, 8, 9, 10}));
  auto too_old = bus.subscribe({}, 2, ioc.get_executor());
  auto batch = next(ioc, *too_old);
  EXPECT_TRUE(batch.gap);
  EXPECT_TRUE(batch.messages.empty());  // it starts now
  auto from_the_future = bus.subscribe({}, 99, ioc.get_executor());
  EXPECT_TRUE(next(ioc, *from_the_future).gap);
}

TEST(LiveBusTest, AStreamThatFallsOutOfTheRingIsToldToReset) {
  asio::io_context ioc;
  LiveLimits limits;
  limits.ring_messages = 5;
  LiveBus bus(limits);
  auto slow = bus.subscribe({}, std::nullopt, ioc.get_executor());
  for (int i = 0; i < 8; ++i) bus.publish(message(Kind::event_created, "app"));
  EXPECT_TRUE(next(ioc, *slow).behind);
  EXPECT_EQ(bus.resets(), 1u);
}

TEST(LiveBusTest, AWaitingStreamIsWokenByAMatchingPublicationFromAnotherThread) {
  asio::io_context ioc;
  LiveBus bus;
  LiveFilter f = only(Kind::event_created);
  f.app_id = "app-a";
  auto s = bus.subscribe(f, std::nullopt, ioc.get_executor());
  std::optional<Subscription::Batch> got;
  // A wait far longer than the test: only a wake-up ends it with a message.
  asio::co_spawn(
      ioc, [&]() -> asio::awaitable<void> { got = co_await s->next(60s); }, asio::detached);
  std::thread io([&] { ioc.run(); });
  // Whether the stream is waiting yet or not: it takes what follows its place.
  bus.publish(message(Kind::event_created, "app-b"));     // not its app: no wake-up
  bus.publish(message(Kind::response_created, "app-a"));  // not its type
  bus.publish(message(Kind::event_created, "app-a"));
  io.join();
  ASSERT_TRUE(got);
  EXPECT_EQ(numbers(*got), (std::vector<std::uint64_t>{3}));
}

TEST(LiveBusTest, KindsAreWantedWhileAStreamIsOpenForThemAndForTheLingerAfter) {
  asio::io_context ioc;
  LiveLimits no_linger;
  no_linger.linger = 0ms;
  LiveBus bus(no_linger);
  EXPECT_FALSE(bus.wants(Kind::response_created));
  {
    auto s = bus.subscribe(only(Kind::response_created), std::nullopt, ioc.get_executor());
    EXPECT_TRUE(bus.wants(Kind::response_created));
    EXPECT_FALSE(bus.wants(Kind::event_created));
    EXPECT_EQ(bus.open(), 1u);
  }
  EXPECT_FALSE(bus.wants(Kind::response_created));
  EXPECT_EQ(bus.open(), 0u);

  // With a linger, what happens after the last stream closed is still
  // recorded, for the client that comes back with its Last-Event-ID.
  LiveBus lingering;
  std::uint64_t last = 0;
  {
    auto s = lingering.subscribe(only(Kind::response_created), std::nullopt, ioc.get_executor());
    lingering.publish(message(Kind::response_created, "app"));
    last = numbers(next(ioc, *s)).at(0);
  }
  EXPECT_TRUE(lingering.wants(Kind::response_created));
  EXPECT_FALSE(lingering.wants(Kind::event_created));
  lingering.publish(message(Kind::response_created, "app"));
  auto back = lingering.subscribe(only(Kind::response_created), last, ioc.get_executor());
  EXPECT_EQ(numbers(next(ioc, *back)), (std::vector<std::uint64_t>{last + 1}));
}

TEST(LiveBusTest, StreamsBeyondTheLimitAreRefusedAndCloseEndsTheOpenOnes) {
  asio::io_context ioc;
  LiveLimits limits;
  limits.max_subscriptions = 2;
  LiveBus bus(limits);
  LiveFilter by_form;
  by_form.form_id = "f";
  auto a = bus.subscribe(by_form, std::nullopt, ioc.get_executor());
  auto b = bus.subscribe({}, std::nullopt, ioc.get_executor());
  EXPECT_FALSE(bus.subscribe({}, std::nullopt, ioc.get_executor()));
  b.reset();
  auto c = bus.subscribe({}, std::nullopt, ioc.get_executor());
  ASSERT_TRUE(c);
  std::optional<Subscription::Batch> got;
  asio::co_spawn(
      ioc, [&]() -> asio::awaitable<void> { got = co_await a->next(60s); }, asio::detached);
  std::thread io([&] { ioc.run(); });
  bus.close();  // wakes the stream if it waits; else it finds the bus closed
  io.join();
  EXPECT_TRUE(got->closed);
  EXPECT_FALSE(bus.subscribe({}, std::nullopt, ioc.get_executor()));
}

}  // namespace
}  // namespace daisy::live

namespace daisy::live {
namespace {

// With several nodes: this node's messages go to the relay, other nodes'
// messages do not go back; another node's interest makes a kind wanted here.
TEST(LiveBusRelayTest, OwnMessagesAreRelayedAndRelayedOnesAreKeptOnlyWhenWanted) {
  asio::io_context ioc;
  LiveLimits no_linger;
  no_linger.linger = 0ms;
  LiveBus bus(no_linger);
  std::vector<std::shared_ptr<const LiveMessage>> relayed;
  bus.set_relay([&](const std::shared_ptr<const LiveMessage>& m) { relayed.push_back(m); });

  EXPECT_FALSE(bus.wants(Kind::event_created));
  EXPECT_EQ(bus.local_interest(), 0u);
  bus.add_remote_interest(KindMask{1} << static_cast<unsigned>(Kind::event_created), 60s);
  EXPECT_TRUE(bus.wants(Kind::event_created));
  EXPECT_FALSE(bus.wants(Kind::response_created));
  EXPECT_EQ(bus.local_interest(), 0u) << "another node's interest is not this node's";

  bus.publish(message(Kind::event_created, "app"));
  ASSERT_EQ(relayed.size(), 1u);
  EXPECT_EQ(relayed[0]->kind, Kind::event_created);

  auto s = bus.subscribe(only(Kind::response_created), std::nullopt, ioc.get_executor());
  EXPECT_EQ(bus.local_interest(), KindMask{1} << static_cast<unsigned>(Kind::response_created));
  bus.publish_relayed(message(Kind::event_created, "app"));     // no stream here wants it
  bus.publish_relayed(message(Kind::response_created, "app"));  // this one's stream does
  EXPECT_EQ(relayed.size(), 1u) << "relayed messages do not go back out";
  Subscription::Batch b = next(ioc, *s);
  ASSERT_EQ(b.messages.size(), 1u);
  EXPECT_EQ(b.messages[0]->kind, Kind::response_created);
  EXPECT_EQ(b.messages[0]->n, 2u) << "the event nobody here wanted was not kept";
}

}  // namespace
}  // namespace daisy::live
