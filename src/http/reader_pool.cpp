#include "http/reader_pool.h"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <memory>

#include "util/thread_name.h"

namespace daisy::http {
namespace asio = boost::asio;

ReaderPool::ReaderPool(ReaderPoolSettings settings) : settings_(settings) {
  unsigned count = std::max(1u, settings_.threads);
  threads_.reserve(count);
  for (unsigned i = 0; i < count; ++i) threads_.emplace_back([this, i] { reader_loop(i); });
}

ReaderPool::~ReaderPool() { stop(); }

void ReaderPool::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

asio::awaitable<ReaderPool::Outcome> ReaderPool::run(std::function<void()> work, bool continuation) {
  std::exception_ptr failure;  // lives in this frame, which waits for the work
  auto initiate = [this, &work, &failure, continuation](auto handler) {
    using Handler = std::decay_t<decltype(handler)>;
    auto executor = asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
    auto resume = std::make_shared<Handler>(std::move(handler));
    auto finish = [executor, resume, work = std::move(work), &failure](Outcome outcome) mutable {
      if (outcome == Outcome::ran) {
        try {
          work();
        } catch (...) {
          failure = std::current_exception();
        }
      }
      asio::post(executor, [resume, outcome]() mutable { (*resume)(outcome); });
    };
    std::unique_lock lock(mu_);
    if (stopping_) {
      lock.unlock();
      finish(Outcome::ran);
      return;
    }
    if (!continuation && admissions_queued_ >= settings_.max_queued) {
      lock.unlock();
      refused_full_.fetch_add(1, std::memory_order_relaxed);
      finish(Outcome::queue_full);
      return;
    }
    if (!continuation) ++admissions_queued_;
    queue_.push_back(Task{std::move(finish), std::chrono::steady_clock::now(), continuation});
    lock.unlock();
    wake_.notify_one();
  };
  Outcome outcome =
      co_await asio::async_initiate<const asio::use_awaitable_t<>, void(Outcome)>(initiate, asio::use_awaitable);
  if (failure) std::rethrow_exception(failure);
  co_return outcome;
}

void ReaderPool::reader_loop(unsigned index) {
  name_this_thread("daisy-read-" + std::to_string(index));
  if (settings_.lower_priority) lower_this_threads_priority();
  for (;;) {
    Task task;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to run
      task = std::move(queue_.front());
      queue_.pop_front();
      if (!task.continuation) --admissions_queued_;
    }
    if (!task.continuation && std::chrono::steady_clock::now() - task.queued_at > settings_.max_wait) {
      refused_waited_.fetch_add(1, std::memory_order_relaxed);
      task.finish(Outcome::waited_too_long);
      continue;
    }
    // Counted before the caller resumes, so that a reply never precedes its count.
    ran_.fetch_add(1, std::memory_order_relaxed);
    busy_.fetch_add(1, std::memory_order_relaxed);
    task.finish(Outcome::ran);
    busy_.fetch_sub(1, std::memory_order_relaxed);
  }
}

void ReaderPool::render_metrics(std::string& out) const {
  std::size_t queued = 0;
  {
    std::lock_guard lock(mu_);
    queued = queue_.size();
  }
  out += "# HELP daisy_reader_queued Heavy reads waiting for a reader thread.\n# TYPE daisy_reader_queued gauge\n";
  out += "daisy_reader_queued " + std::to_string(queued) + "\n";
  out += "# HELP daisy_reader_busy Reader threads running a read now.\n# TYPE daisy_reader_busy gauge\n";
  out += "daisy_reader_busy " + std::to_string(busy_.load(std::memory_order_relaxed)) + "\n";
  out +=
      "# HELP daisy_reader_runs_total Heavy reads (and parts of streamed replies) run by the readers.\n"
      "# TYPE daisy_reader_runs_total counter\n";
  out += "daisy_reader_runs_total " + std::to_string(ran_.load(std::memory_order_relaxed)) + "\n";
  out +=
      "# HELP daisy_reader_refused_total Heavy reads answered 503 without running.\n"
      "# TYPE daisy_reader_refused_total counter\n";
  out += "daisy_reader_refused_total{reason=\"queue_full\"} " +
         std::to_string(refused_full_.load(std::memory_order_relaxed)) + "\n";
  out += "daisy_reader_refused_total{reason=\"waited_too_long\"} " +
         std::to_string(refused_waited_.load(std::memory_order_relaxed)) + "\n";
}

}  // namespace daisy::http
