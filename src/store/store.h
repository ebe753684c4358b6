#pragma once
// The storage interface every backend fulfils (SQLite now, PostgreSQL later).
// Nothing above this interface knows which database is underneath.
//
// Contract:
// - Writes are asynchronous and complete only after their transaction has
//   committed durably; the caller's coroutine resumes on its own executor.
//   Concurrent writes may share one transaction (group commit); each write
//   succeeds or fails on its own.
// - Reads are synchronous, indexed and bounded by a limit, so they are cheap
//   enough to run on an I/O thread.
// - Status::unavailable means "try again later" (answered as 503).

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/app.h"
#include "store/status.h"
#include "util/crypto.h"

namespace daisy {

struct AppToken {
  std::string app_id;
  Sha256 token_hash;
};

struct Page {
  std::size_t limit = 50;
  std::string after;  // exclusive cursor: the last id of the previous page
};

class Store {
 public:
  virtual ~Store() = default;

  // Applies pending migrations; returns the versions applied.
  virtual Result<std::vector<int>> migrate() = 0;
  // True when the store answers a trivial query now.
  virtual bool ready() = 0;
  // Commits everything submitted so far and stops accepting writes.
  virtual void close() = 0;

  // Process-wide settings (for example the admin token's hash).
  virtual Result<std::optional<std::string>> get_setting(std::string_view key) = 0;
  virtual boost::asio::awaitable<Status> put_setting(std::string key, std::string value) = 0;
  // For start-up code that has no coroutine: blocks until committed.
  virtual Status put_setting_blocking(std::string key, std::string value) = 0;

  // Apps. Ids are UUIDv7, so listing by id lists by creation.
  virtual boost::asio::awaitable<Status> create_app(App app, Sha256 token_hash) = 0;
  virtual Result<std::vector<App>> list_apps(const Page& page) = 0;
  virtual Result<App> get_app(std::string_view id) = 0;  // not_found when absent or deleted
  virtual boost::asio::awaitable<Status> delete_app(std::string id) = 0;
  virtual boost::asio::awaitable<Status> set_app_token(std::string id, Sha256 token_hash) = 0;
  virtual Result<std::vector<AppToken>> app_tokens() = 0;  // live apps only
};

}  // namespace daisy
