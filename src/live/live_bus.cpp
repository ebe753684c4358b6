#include "live/live_bus.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace daisy::live {

namespace asio = boost::asio;

namespace {

std::size_t cost_of(const LiveMessage& m) {
  return (m.data ? m.data->size() : 0) + m.app_id.size() + m.form_id.size() + m.category.size() +
         m.integration_id.size() + sizeof(LiveMessage);
}

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::uint64_t now_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

}  // namespace

Subscription::Subscription(LiveBus& bus, LiveFilter filter, std::uint64_t cursor, bool gap, asio::any_io_executor ex)
    : bus_(bus), filter_(std::move(filter)), executor_(ex), timer_(ex), cursor_(cursor), gap_(gap) {}

Subscription::~Subscription() { bus_.forget(*this); }

bool Subscription::starts_with_gap() const {
  std::lock_guard lock(bus_.mu_);
  return gap_;
}

void Subscription::drop_gap() {
  std::lock_guard lock(bus_.mu_);
  gap_ = false;
}

asio::awaitable<Subscription::Batch> Subscription::next(std::chrono::steady_clock::duration wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  Batch batch;
  for (;;) {
    {
      std::lock_guard lock(bus_.mu_);
      waiting_ = false;
      batch.gap = std::exchange(gap_, false);
      if (bus_.closed_) {
        batch.closed = true;
        co_return batch;
      }
      const auto& ring = bus_.ring_;
      std::uint64_t first = ring.empty() ? bus_.last_n_ + 1 : ring.front()->n;
      if (cursor_ + 1 < first) {
        batch.behind = true;
        bus_.resets_.fetch_add(1, std::memory_order_relaxed);
        co_return batch;
      }
      for (std::uint64_t n = cursor_ + 1; n <= bus_.last_n_; ++n) {
        const auto& m = ring[n - first];
        cursor_ = n;
        if (filter_.matches(*m)) {
          batch.messages.push_back(m);
          if (batch.messages.size() >= bus_.limits_.batch_messages) break;
        }
      }
      if (!batch.messages.empty() || batch.gap || std::chrono::steady_clock::now() >= deadline) co_return batch;
      waiting_ = true;
      wake_posted_ = false;
    }
    timer_.expires_at(deadline);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

LiveBus::LiveBus(LiveLimits limits) : limits_(limits), epoch_(now_ms()) {}

bool LiveBus::wanted_here(std::size_t kind, std::int64_t now_ms) const {
  return wanting_[kind].load(std::memory_order_relaxed) > 0 ||
         now_ms < linger_until_ms_[kind].load(std::memory_order_relaxed);
}

bool LiveBus::wants(Kind k) const {
  auto i = static_cast<std::size_t>(k);
  if (wanting_[i].load(std::memory_order_relaxed) > 0) return true;
  std::int64_t now = steady_ms();
  return now < linger_until_ms_[i].load(std::memory_order_relaxed) ||
         now < remote_until_ms_[i].load(std::memory_order_relaxed);
}

KindMask LiveBus::local_interest() const {
  std::int64_t now = steady_ms();
  KindMask mask = 0;
  for (std::size_t k = 0; k < kind_count; ++k)
    if (wanted_here(k, now)) mask |= KindMask{1} << k;
  return mask;
}

void LiveBus::add_remote_interest(KindMask kinds, std::chrono::milliseconds how_long) {
  std::int64_t until = steady_ms() + how_long.count();
  for (std::size_t k = 0; k < kind_count; ++k) {
    if (!(kinds & (KindMask{1} << k))) continue;
    std::int64_t seen = remote_until_ms_[k].load(std::memory_order_relaxed);
    while (seen < until && !remote_until_ms_[k].compare_exchange_weak(seen, until, std::memory_order_relaxed)) {
    }
  }
}

void LiveBus::wake(Subscription& s) {
  if (!s.waiting_ || s.wake_posted_) return;
  s.wake_posted_ = true;
  // The timer belongs to the stream's executor: cancel it there.
  asio::post(s.executor_, [weak = s.weak_from_this()] {
    if (auto strong = weak.lock()) strong->timer_.cancel();
  });
}

void LiveBus::publish(LiveMessage m) {
  std::shared_ptr<const LiveMessage> kept = keep(std::move(m));
  if (kept && relay_) relay_(kept);
}

void LiveBus::publish_relayed(LiveMessage m) {
  // Another node's message that no stream here wants is not kept.
  if (!wanted_here(static_cast<std::size_t>(m.kind), steady_ms())) return;
  keep(std::move(m));
}

std::shared_ptr<const LiveMessage> LiveBus::keep(LiveMessage m) {
  published_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  if (closed_) return nullptr;
  m.n = ++last_n_;
  m.at_ms = static_cast<std::int64_t>(now_ms());
  ring_bytes_ += cost_of(m);
  ring_.push_back(std::make_shared<const LiveMessage>(std::move(m)));
  while (ring_.size() > limits_.ring_messages || (ring_bytes_ > limits_.ring_bytes && ring_.size() > 1)) {
    ring_bytes_ -= cost_of(*ring_.front());
    ring_.pop_front();
  }
  const LiveMessage& added = *ring_.back();
  for_candidates(added, [&](Subscription& s) {
    if (s.waiting_ && s.filter_.matches(added)) wake(s);
  });
  return ring_.back();
}

LiveBus::Filed LiveBus::filed_under(const LiveFilter& f) {
  if (!f.form_id.empty()) return {&by_form_, f.form_id};
  if (!f.app_id.empty()) return {&by_app_, f.app_id};
  if (!f.scope_app_id.empty()) return {&by_app_, f.scope_app_id};
  if (!f.category.empty()) return {&by_category_, f.category};
  if (!f.integration_id.empty()) return {&by_integration_, f.integration_id};
  return {nullptr, {}};
}

template <class Visit>
void LiveBus::for_candidates(const LiveMessage& m, Visit&& visit) {
  auto visit_bucket = [&](const Buckets& buckets, const std::string& key) {
    if (key.empty()) return;
    auto it = buckets.find(key);
    if (it == buckets.end()) return;
    for (Subscription* s : it->second) visit(*s);
  };
  visit_bucket(by_form_, m.form_id);
  visit_bucket(by_app_, m.app_id);
  visit_bucket(by_category_, m.category);
  visit_bucket(by_integration_, m.integration_id);
  for (Subscription* s : any_) visit(*s);
}

std::shared_ptr<Subscription> LiveBus::subscribe(LiveFilter filter, std::optional<std::uint64_t> after,
                                                 asio::any_io_executor ex) {
  std::lock_guard lock(mu_);
  if (closed_ || subscription_count_ >= limits_.max_subscriptions) return nullptr;
  std::uint64_t first = ring_.empty() ? last_n_ + 1 : ring_.front()->n;
  std::uint64_t cursor = last_n_;
  bool gap = false;
  if (after) {
    // Held: every message after it is still in the ring.
    if (*after + 1 >= first && *after <= last_n_) {
      cursor = *after;
    } else {
      gap = true;
    }
  }
  for (std::size_t k = 0; k < kind_count; ++k) {
    if (filter.wants(static_cast<Kind>(k))) wanting_[k].fetch_add(1, std::memory_order_relaxed);
  }
  auto s = std::make_shared<Subscription>(*this, std::move(filter), cursor, gap, std::move(ex));
  auto [buckets, key] = filed_under(s->filter_);
  (buckets ? (*buckets)[key] : any_).push_back(s.get());
  open_.store(++subscription_count_, std::memory_order_relaxed);
  return s;
}

void LiveBus::forget(Subscription& s) {
  std::lock_guard lock(mu_);
  auto [buckets, key] = filed_under(s.filter_);
  Bucket& bucket = buckets ? (*buckets)[key] : any_;
  auto it = std::find(bucket.begin(), bucket.end(), &s);
  if (it == bucket.end()) return;
  *it = bucket.back();
  bucket.pop_back();
  if (buckets && bucket.empty()) buckets->erase(key);
  std::int64_t until = steady_ms() + limits_.linger.count();
  for (std::size_t k = 0; k < kind_count; ++k) {
    if (!s.filter_.wants(static_cast<Kind>(k))) continue;
    wanting_[k].fetch_sub(1, std::memory_order_relaxed);
    linger_until_ms_[k].store(until, std::memory_order_relaxed);
  }
  open_.store(--subscription_count_, std::memory_order_relaxed);
}

void LiveBus::close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  auto wake_all = [this](Bucket& bucket) {
    for (Subscription* s : bucket) wake(*s);
  };
  for (auto* buckets : {&by_form_, &by_app_, &by_category_, &by_integration_}) {
    for (auto& [key, bucket] : *buckets) wake_all(bucket);
  }
  wake_all(any_);
}

}  // namespace daisy::live
