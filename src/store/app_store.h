#pragma once
// The store of who may call: apps, their token hashes and event-type policy,
// and the process-wide settings (the admin token's hash is one). The
// contract of every store interface is in store/store.h.

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/app.h"
#include "domain/app_token.h"
#include "store/page.h"
#include "store/status.h"
#include "util/crypto.h"

namespace daisy {

class AppStore {
 public:
  virtual ~AppStore() = default;

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
  virtual boost::asio::awaitable<Status> set_publishable_key(std::string id, std::string key) = 0;
  virtual Result<std::vector<AppToken>> app_tokens() = 0;  // live apps only, with their access settings
  // Writes the app's settings: unknown_event_types and access (but its
  // publishable key), all checked by the caller.
  virtual boost::asio::awaitable<Status> update_app_settings(App app) = 0;
  virtual Result<std::vector<std::string>> apps_rejecting_unknown_event_types() = 0;
};

}  // namespace daisy
