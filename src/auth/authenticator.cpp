#include "auth/authenticator.h"

#include <cstring>
#include <mutex>

#include "auth/tokens.h"
#include "util/ascii.h"

namespace daisy {
namespace {

std::string key_of(const Sha256& h) { return std::string(bytes_of(h)); }

}  // namespace

std::size_t Authenticator::HashKey::operator()(const std::string& h) const {
  // The key is already a uniformly distributed hash.
  std::size_t v = 0;
  std::memcpy(&v, h.data(), std::min(h.size(), sizeof v));
  return v;
}

void Authenticator::set_admin_hash(const Sha256& hash) {
  std::unique_lock lock(mu_);
  admin_hash_ = key_of(hash);
}

void Authenticator::replace_app_tokens(const std::vector<AppToken>& tokens) {
  replace_app_tokens_if_unchanged(tokens, local_changes());
}

std::uint64_t Authenticator::local_changes() const {
  std::shared_lock lock(mu_);
  return local_changes_;
}

bool Authenticator::replace_app_tokens_if_unchanged(const std::vector<AppToken>& tokens,
                                                    std::uint64_t local_changes_seen) {
  {
    std::shared_lock lock(mu_);
    if (local_changes_ != local_changes_seen) return false;
  }
  std::unordered_map<std::string, std::string, HashKey> by_hash;
  std::unordered_map<std::string, std::string> by_app;
  for (const auto& t : tokens) {
    by_hash[key_of(t.token_hash)] = t.app_id;
    by_app[t.app_id] = key_of(t.token_hash);
  }
  std::unique_lock lock(mu_);
  if (local_changes_ != local_changes_seen) return false;
  app_by_hash_ = std::move(by_hash);
  hash_by_app_ = std::move(by_app);
  app_by_key_hash_.clear();
  access_by_app_.clear();
  for (const auto& t : tokens) put_access_locked(t.app_id, t.access);
  return true;
}

void Authenticator::put_access(const std::string& app_id, const AppAccess& access) {
  std::unique_lock lock(mu_);
  ++local_changes_;
  put_access_locked(app_id, access);
}

void Authenticator::put_access_locked(const std::string& app_id, const AppAccess& access) {
  if (auto it = access_by_app_.find(app_id); it != access_by_app_.end()) {
    app_by_key_hash_.erase(key_of(sha256(it->second->publishable_key)));
  }
  if (!access.publishable_key.empty()) app_by_key_hash_[key_of(sha256(access.publishable_key))] = app_id;
  access_by_app_[app_id] = std::make_shared<const AppAccess>(access);
}

std::shared_ptr<const AppAccess> Authenticator::access(const std::string& app_id) const {
  std::shared_lock lock(mu_);
  auto it = access_by_app_.find(app_id);
  return it == access_by_app_.end() ? nullptr : it->second;
}

bool Authenticator::any_app_allows_origin(std::string_view origin) const {
  std::shared_lock lock(mu_);
  for (const auto& [app, access] : access_by_app_) {
    for (const auto& pattern : access->allowed_origins) {
      if (origin_matches(pattern, origin)) return true;
    }
  }
  return false;
}

void Authenticator::put_app(const std::string& app_id, const Sha256& hash) {
  std::unique_lock lock(mu_);
  ++local_changes_;
  if (auto it = hash_by_app_.find(app_id); it != hash_by_app_.end()) {
    app_by_hash_.erase(it->second);
  }
  app_by_hash_[key_of(hash)] = app_id;
  hash_by_app_[app_id] = key_of(hash);
}

void Authenticator::remove_app(const std::string& app_id) {
  std::unique_lock lock(mu_);
  ++local_changes_;
  if (auto it = hash_by_app_.find(app_id); it != hash_by_app_.end()) {
    app_by_hash_.erase(it->second);
    hash_by_app_.erase(it);
  }
  if (auto it = access_by_app_.find(app_id); it != access_by_app_.end()) {
    app_by_key_hash_.erase(key_of(sha256(it->second->publishable_key)));
    access_by_app_.erase(it);
  }
}

Authenticator::Outcome Authenticator::authenticate(std::string_view authorization, Principal& out) const {
  out = Principal{};
  if (authorization.empty()) return Outcome::missing;
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() <= scheme.size() || !iequals(authorization.substr(0, scheme.size()), scheme)) {
    return Outcome::malformed;
  }
  std::string_view token = authorization.substr(scheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty() || token.size() > 512) return Outcome::malformed;
  if (token.substr(0, publishable_key_prefix.size()) == publishable_key_prefix) {
    return authenticate_publishable_key(token, out);
  }

  std::string presented = key_of(sha256(token));
  std::shared_lock lock(mu_);
  if (!admin_hash_.empty() && constant_time_equal(presented, admin_hash_)) {
    out.kind = Principal::Kind::admin;
    return Outcome::ok;
  }
  auto it = app_by_hash_.find(presented);
  if (it != app_by_hash_.end() && constant_time_equal(presented, it->first)) {
    out.kind = Principal::Kind::app;
    out.app_id = it->second;
    return Outcome::ok;
  }
  return Outcome::unknown;
}

Authenticator::Outcome Authenticator::authenticate_publishable_key(std::string_view key, Principal& out) const {
  out = Principal{};
  if (key.empty()) return Outcome::missing;
  if (key.size() > 512 || key.substr(0, publishable_key_prefix.size()) != publishable_key_prefix) {
    return Outcome::malformed;
  }
  std::string presented = key_of(sha256(key));
  std::shared_lock lock(mu_);
  auto it = app_by_key_hash_.find(presented);
  if (it == app_by_key_hash_.end() || !constant_time_equal(presented, it->first)) return Outcome::unknown;
  out.kind = Principal::Kind::publishable;
  out.app_id = it->second;
  if (auto access = access_by_app_.find(it->second); access != access_by_app_.end()) out.access = access->second;
  return Outcome::ok;
}

}  // namespace daisy
