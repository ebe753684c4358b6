#pragma once
// PUBLISH to Redis for the redis integrations, through Debian's hiredis.
//
// hiredis's blocking API runs on one thread of its own, which serves every
// publish in turn (a PUBLISH takes well under a millisecond; each is bounded
// by its timeout), with one connection kept per Redis URL. Callers await the
// result on their own executor, so no delivery coroutine blocks its thread.
// Unless private targets are allowed, a Redis server at an internal address
// is refused (the host is resolved here and checked before connecting).

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace daisy::jobs {

struct PublishResult {
  long long receivers = 0;  // what PUBLISH answered: the subscribers that got it
  std::string error;        // empty when PUBLISH answered
};

class RedisPublisher {
 public:
  explicit RedisPublisher(bool allow_private_targets);
  ~RedisPublisher();  // abandons what is queued (its callbacks do not run)
  RedisPublisher(const RedisPublisher&) = delete;
  RedisPublisher& operator=(const RedisPublisher&) = delete;

  // url: redis://[:password@]host[:port][/db]
  boost::asio::awaitable<PublishResult> publish(std::string url, std::string channel, std::string message,
                                                std::chrono::milliseconds timeout);

 private:
  struct Task {
    std::string url, channel, message;
    std::chrono::milliseconds timeout;
    std::function<void(PublishResult)> done;
  };
  struct Connection;
  void run();
  PublishResult publish_now(const Task& task);

  bool allow_private_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  bool stopping_ = false;
  std::map<std::string, std::unique_ptr<Connection>> connections_;  // publisher thread only
  std::thread thread_;
};

}  // namespace daisy::jobs
