#include "util/worker_pool.h"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <memory>

#include "util/thread_name.h"

namespace daisy {
namespace asio = boost::asio;

WorkerPool::WorkerPool(WorkerPoolSettings settings) : settings_(settings) {
  unsigned count = std::max(1u, settings_.threads);
  threads_.reserve(count);
  for (unsigned i = 0; i < count; ++i) threads_.emplace_back([this, i] { worker_loop(i); });
}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::stop() {
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

asio::awaitable<WorkerPool::Outcome> WorkerPool::run(std::function<void()> work, bool continuation) {
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

void WorkerPool::worker_loop(unsigned index) {
  name_this_thread("daisy-" + settings_.name + "-" + std::to_string(index));
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

void WorkerPool::render_metrics(std::string& out) const {
  std::size_t queued = 0;
  {
    std::lock_guard lock(mu_);
    queued = queue_.size();
  }
  const std::string& m = settings_.metric;
  auto line = [&](std::string_view suffix, std::string_view type, std::string_view help, std::uint64_t value) {
    out.append("# HELP ").append(m).append(suffix).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(m).append(suffix).append(" ").append(type).append("\n");
    out.append(m).append(suffix).append(" ").append(std::to_string(value)).append("\n");
  };
  line("_queued", "gauge", settings_.what + " waiting for a thread.", queued);
  line("_busy", "gauge", "Threads running one of these now.", busy_.load(std::memory_order_relaxed));
  line("_runs_total", "counter", settings_.what + " run.", ran_.load(std::memory_order_relaxed));
  out.append("# HELP ")
      .append(m)
      .append("_refused_total ")
      .append(settings_.what)
      .append(" refused without running.\n");
  out.append("# TYPE ").append(m).append("_refused_total counter\n");
  out.append(m)
      .append("_refused_total{reason=\"queue_full\"} ")
      .append(std::to_string(refused_full_.load(std::memory_order_relaxed)))
      .append("\n");
  out.append(m)
      .append("_refused_total{reason=\"waited_too_long\"} ")
      .append(std::to_string(refused_waited_.load(std::memory_order_relaxed)))
      .append("\n");
}

}  // namespace daisy
