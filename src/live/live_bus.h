#pragma once
// The live stream's hub. Publishers (the I/O threads after a commit, the job
// runner, the feed service) append messages to one ring held in memory; each
// open stream is a Subscription with a cursor into that ring, woken when a
// message it matches arrives. Memory is bounded by the ring alone: a stream
// whose cursor falls out of the ring (a reader too slow to keep up) is told
// to reset and ends; it resumes with Last-Event-ID while the ring still holds
// its place.
//
// Thread safety: publish, subscribe and close from any thread; a
// Subscription is used on the executor it was made for.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "live/live_filter.h"
#include "live/live_message.h"
#include "live/live_wire.h"

namespace daisy::live {

struct LiveLimits {
  std::size_t ring_messages = 10000;     // messages kept for slow readers and resumes
  std::size_t ring_bytes = 16u << 20;    // and at most this much of their data
  std::size_t max_subscriptions = 2000;  // open streams
  std::size_t batch_messages = 256;      // taken by one wake-up of a stream
  // How long a kind is still recorded after the last stream that wanted it
  // closed, so that a client that reconnects (Last-Event-ID) finds what
  // happened meanwhile even when no other stream was open.
  std::chrono::milliseconds linger = std::chrono::minutes(5);
};

class LiveBus;

class Subscription : public std::enable_shared_from_this<Subscription> {
 public:
  struct Batch {
    std::vector<std::shared_ptr<const LiveMessage>> messages;
    bool gap = false;     // the resume point was not held (first batch only): messages were missed
    bool behind = false;  // the stream fell out of the ring: it must reset
    bool closed = false;  // the server is stopping
  };

  Subscription(LiveBus& bus, LiveFilter filter, std::uint64_t cursor, bool gap, boost::asio::any_io_executor ex);
  ~Subscription();
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // The next messages this stream matches; waits at most `wait` for some (an
  // empty batch then: time for a heartbeat).
  boost::asio::awaitable<Batch> next(std::chrono::steady_clock::duration wait);
  // Before the first next(): whether the resume point asked for was not held
  // (the first batch is then marked gap), and a way to drop that mark once
  // what was missed has been sent otherwise (read back from the store).
  bool starts_with_gap() const;
  void drop_gap();

 private:
  friend class LiveBus;
  LiveBus& bus_;
  const LiveFilter filter_;
  boost::asio::any_io_executor executor_;
  boost::asio::steady_timer timer_;
  // Guarded by the bus's mutex.
  std::uint64_t cursor_;  // the last message seen (sent or skipped)
  bool gap_;
  bool waiting_ = false;
  bool wake_posted_ = false;
};

class LiveBus {
 public:
  explicit LiveBus(LiveLimits limits = {});
  LiveBus(const LiveBus&) = delete;
  LiveBus& operator=(const LiveBus&) = delete;

  // Distinguishes this process's message ids from an earlier run's.
  std::uint64_t epoch() const { return epoch_; }
  // False when no stream open now or closed within `linger` could take this
  // kind, here or (with a relay) on another node: publishers skip making the
  // message.
  bool wants(Kind k) const;
  // A message of this node's: kept for the streams here, and handed to the
  // relay (when set) for the other nodes.
  void publish(LiveMessage m);
  // A message that another node published (from the relay): kept for the
  // streams here only.
  void publish_relayed(LiveMessage m);

  // Set once, before any publication: receives every message this node
  // publishes, on the publisher's thread (it must only queue it).
  using Relay = std::function<void(const std::shared_ptr<const LiveMessage>&)>;
  void set_relay(Relay relay) { relay_ = std::move(relay); }
  // The kinds that streams here want now (or within `linger`).
  KindMask local_interest() const;
  // Another node has streams for these kinds: keep making their messages for
  // `how_long` (the relay repeats this while they stay open).
  void add_remote_interest(KindMask kinds, std::chrono::milliseconds how_long);
  // A stream from now, or after message `after` of this epoch when the ring
  // still holds what follows it (else from now, with Batch::gap set). Null
  // when max_subscriptions are open.
  std::shared_ptr<Subscription> subscribe(LiveFilter filter, std::optional<std::uint64_t> after,
                                          boost::asio::any_io_executor ex);
  // Ends every stream (their next batch is closed) and refuses new ones.
  void close();

  std::size_t open() const { return open_.load(std::memory_order_relaxed); }
  std::uint64_t published() const { return published_.load(std::memory_order_relaxed); }
  std::uint64_t resets() const { return resets_.load(std::memory_order_relaxed); }

 private:
  friend class Subscription;
  void wake(Subscription& s);  // with mu_ held
  // Adds m to the ring and wakes its streams; the message as kept (null once closed).
  std::shared_ptr<const LiveMessage> keep(LiveMessage m);
  bool wanted_here(std::size_t kind, std::int64_t now_ms) const;
  void forget(Subscription& s);
  // Streams are filed by their most selective attribute (form, then app,
  // then category, then integration; else with those that take any), so a
  // message is checked only against the streams it may match: a thousand
  // streams watching other forms cost a publication nothing.
  using Bucket = std::vector<Subscription*>;
  using Buckets = std::unordered_map<std::string, Bucket>;
  struct Filed {
    Buckets* buckets;  // null: with any_
    std::string key;
  };
  Filed filed_under(const LiveFilter& f);
  template <class Visit>
  void for_candidates(const LiveMessage& m, Visit&& visit);

  const LiveLimits limits_;
  const std::uint64_t epoch_;
  mutable std::mutex mu_;
  std::deque<std::shared_ptr<const LiveMessage>> ring_;  // consecutive n
  std::size_t ring_bytes_ = 0;
  std::uint64_t last_n_ = 0;
  std::size_t subscription_count_ = 0;
  Buckets by_form_, by_app_, by_category_, by_integration_;
  Bucket any_;
  bool closed_ = false;
  std::array<std::atomic<int>, kind_count> wanting_{};
  std::array<std::atomic<std::int64_t>, kind_count> linger_until_ms_{};  // steady clock
  std::array<std::atomic<std::int64_t>, kind_count> remote_until_ms_{};  // steady clock
  Relay relay_;
  std::atomic<std::size_t> open_{0};
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::uint64_t> resets_{0};
};

}  // namespace daisy::live
