#pragma once
// Resolves an Authorization header to a Principal. Holds the admin token's hash
// and a cache of app token hashes (hash -> app id) kept in step with the store
// by the apps API, so a deleted or rotated token stops working at once; and
// likewise each app's publishable key (by its hash too) and what the key may
// do (AppAccess: origins, forms, rate limit).
//
// Lookups hash the presented token first; the map is keyed by that hash, and
// the final comparison of hashes is constant-time.

#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "domain/app_token.h"
#include "domain/principal.h"
#include "util/crypto.h"

namespace daisy {

class Authenticator {
 public:
  enum class Outcome { ok, missing, malformed, unknown };

  void set_admin_hash(const Sha256& hash);
  void replace_app_tokens(const std::vector<AppToken>& tokens);
  void put_app(const std::string& app_id, const Sha256& hash);          // replaces any earlier token
  void put_access(const std::string& app_id, const AppAccess& access);  // replaces any earlier key
  void remove_app(const std::string& app_id);
  // For a reload from the store racing the request path: take local_changes()
  // before reading the store; the read replaces the tokens only if no
  // put_app/remove_app ran meanwhile (false then: read again later), so a
  // token issued during the read is not lost.
  std::uint64_t local_changes() const;
  bool replace_app_tokens_if_unchanged(const std::vector<AppToken>& tokens, std::uint64_t local_changes_seen);

  // authorization: the raw header value, e.g. "Bearer dsy_app_...".
  Outcome authenticate(std::string_view authorization, Principal& out) const;
  // A publishable key alone (as sent in a URL or a body); never a secret token.
  Outcome authenticate_publishable_key(std::string_view key, Principal& out) const;

  // What the app's publishable key may do; null for an unknown app.
  std::shared_ptr<const AppAccess> access(const std::string& app_id) const;
  // Whether some app lets pages of this origin send (for CORS preflights,
  // which carry no credentials).
  bool any_app_allows_origin(std::string_view origin) const;

 private:
  struct HashKey {
    std::size_t operator()(const std::string& h) const;
  };
  mutable std::shared_mutex mu_;
  std::string admin_hash_;                                             // 32 bytes
  std::unordered_map<std::string, std::string, HashKey> app_by_hash_;  // hash -> app id
  std::unordered_map<std::string, std::string> hash_by_app_;
  std::unordered_map<std::string, std::string, HashKey> app_by_key_hash_;  // publishable key hash -> app id
  std::unordered_map<std::string, std::shared_ptr<const AppAccess>> access_by_app_;
  std::uint64_t local_changes_ = 0;  // put_app, put_access and remove_app calls

  void put_access_locked(const std::string& app_id, const AppAccess& access);
};

}  // namespace daisy
