#include "jobs/kinds/redis_publisher.h"

#include <hiredis/hiredis.h>
#include <netdb.h>
#include <sys/socket.h>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>

#include <cstring>

#include "net/fetcher.h"
#include "util/thread_name.h"

namespace daisy::jobs {
namespace asio = boost::asio;

namespace {

struct Target {
  std::string host, password, error;
  int port = 6379;
  int db = 0;
};

Target parse_target(const std::string& url) {
  Target t;
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed || parsed->scheme() != "redis" || parsed->host().empty()) {
    t.error = "not a redis:// URL";
    return t;
  }
  t.host = parsed->host();
  if (parsed->has_port()) t.port = parsed->port_number();
  if (parsed->has_password()) t.password = parsed->password();
  std::string path = parsed->path();
  if (path.size() > 1) t.db = std::atoi(path.c_str() + 1);
  return t;
}

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

}  // namespace

struct RedisPublisher::Connection {
  redisContext* context = nullptr;
  ~Connection() {
    if (context) redisFree(context);
  }
};

RedisPublisher::RedisPublisher(bool allow_private_targets) : allow_private_(allow_private_targets) {
  thread_ = std::thread([this] {
    name_this_thread("daisy-redis");
    lower_this_threads_priority();
    run();
  });
}

RedisPublisher::~RedisPublisher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

asio::awaitable<PublishResult> RedisPublisher::publish(std::string url, std::string channel, std::string message,
                                                       std::chrono::milliseconds timeout) {
  auto initiate = [this, url = std::move(url), channel = std::move(channel), message = std::move(message),
                   timeout](auto handler) mutable {
    using Handler = std::decay_t<decltype(handler)>;
    auto executor = asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
    auto shared = std::make_shared<Handler>(std::move(handler));
    Task task{std::move(url), std::move(channel), std::move(message), timeout,
              [executor, shared](PublishResult result) {
                asio::post(executor, [shared, result = std::move(result)]() mutable { (*shared)(std::move(result)); });
              }};
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
  };
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>, void(PublishResult)>(std::move(initiate),
                                                                                              asio::use_awaitable);
}

void RedisPublisher::run() {
  for (;;) {
    Task task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    PublishResult result = publish_now(task);
    task.done(std::move(result));
  }
  connections_.clear();
}

PublishResult RedisPublisher::publish_now(const Task& task) {
  PublishResult result;
  auto& slot = connections_[task.url];
  if (!slot || !slot->context || slot->context->err) {
    slot.reset();
    Target target = parse_target(task.url);
    if (!target.error.empty()) return {0, target.error};
    // Resolved here, so that the address connected to is the one checked.
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(target.host.c_str(), nullptr, &hints, &found) != 0 || !found) {
      return {0, "cannot resolve " + target.host};
    }
    char ip[NI_MAXHOST] = {};
    bool internal = net::is_internal_address(found->ai_addr);
    getnameinfo(found->ai_addr, found->ai_addrlen, ip, sizeof ip, nullptr, 0, NI_NUMERICHOST);
    freeaddrinfo(found);
    if (internal && !allow_private_) {
      return {0,
              "refused: the target's address is internal (loopback, private or link-local); "
              "start Daisy with --allow-private-targets to allow it"};
    }
    auto connection = std::make_unique<Connection>();
    connection->context = redisConnectWithTimeout(ip, target.port, to_timeval(task.timeout));
    if (!connection->context || connection->context->err) {
      return {0, std::string("cannot connect to Redis: ") +
                     (connection->context ? connection->context->errstr : "out of memory")};
    }
    redisSetTimeout(connection->context, to_timeval(task.timeout));
    auto command = [&](std::string_view what, redisReply* reply) -> std::string {
      std::string error;
      if (!reply)
        error = std::string(what) + ": " + connection->context->errstr;
      else if (reply->type == REDIS_REPLY_ERROR)
        error = std::string(what) + ": " + reply->str;
      if (reply) freeReplyObject(reply);
      return error;
    };
    if (!target.password.empty()) {
      std::string e = command(
          "AUTH", static_cast<redisReply*>(redisCommand(connection->context, "AUTH %s", target.password.c_str())));
      if (!e.empty()) return {0, e};
    }
    if (target.db != 0) {
      std::string e =
          command("SELECT", static_cast<redisReply*>(redisCommand(connection->context, "SELECT %d", target.db)));
      if (!e.empty()) return {0, e};
    }
    slot = std::move(connection);
  }
  redisSetTimeout(slot->context, to_timeval(task.timeout));
  auto* reply = static_cast<redisReply*>(redisCommand(slot->context, "PUBLISH %b %b", task.channel.data(),
                                                      task.channel.size(), task.message.data(), task.message.size()));
  if (!reply) {
    result.error = std::string("PUBLISH failed: ") + slot->context->errstr;
    slot.reset();  // reconnect next time
    return result;
  }
  if (reply->type == REDIS_REPLY_INTEGER) {
    result.receivers = reply->integer;
  } else {
    result.error = reply->type == REDIS_REPLY_ERROR ? std::string("PUBLISH: ") + reply->str
                                                    : std::string("PUBLISH gave an unexpected reply");
  }
  freeReplyObject(reply);
  return result;
}

}  // namespace daisy::jobs
