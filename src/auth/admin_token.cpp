#include "auth/admin_token.h"

#include "auth/tokens.h"

#include <optional>

namespace daisy {
namespace {

constexpr std::string_view admin_hash_setting = "admin_token_sha256";
constexpr std::size_t min_admin_token_length = 16;

std::string hash_hex(const Sha256& hash) { return to_hex(bytes_of(hash)); }

std::optional<Sha256> parse_hash_hex(const std::string& hex) {
  std::string bytes = from_hex(hex);
  Sha256 hash{};
  if (bytes.size() != hash.size()) return std::nullopt;
  std::copy(bytes.begin(), bytes.end(), hash.begin());
  return hash;
}

Status install(AppStore& store, Authenticator& auth, const Sha256& hash) {
  Status s = store.put_setting_blocking(std::string(admin_hash_setting), hash_hex(hash));
  if (s.is_ok()) auth.set_admin_hash(hash);
  return s;
}

}  // namespace

Result<AdminTokenOutcome> establish_admin_token(const std::string& configured, AppStore& store, Authenticator& auth) {
  AdminTokenOutcome outcome;
  auto stored = store.get_setting(admin_hash_setting);
  if (!stored.is_ok()) return stored.status();
  std::optional<Sha256> stored_hash;
  if (stored.value()) stored_hash = parse_hash_hex(*stored.value());
  if (!configured.empty()) {
    if (configured.size() < min_admin_token_length) {
      return Status::internal("the admin token must be at least 16 characters");
    }
    Sha256 hash = hash_token(configured);
    outcome.replaced_stored = stored_hash && *stored_hash != hash;
    Status s = install(store, auth, hash);
    if (!s.is_ok()) return s;
    return outcome;
  }
  if (stored_hash) {
    auth.set_admin_hash(*stored_hash);
    return outcome;
  }
  outcome.generated = generate_token(admin_token_prefix);
  Status s = install(store, auth, hash_token(outcome.generated));
  if (!s.is_ok()) return s;
  return outcome;
}

Result<std::string> reset_admin_token(AppStore& store) {
  std::string token = generate_token(admin_token_prefix);
  Status s = store.put_setting_blocking(std::string(admin_hash_setting), hash_hex(hash_token(token)));
  if (!s.is_ok()) return s;
  return token;
}

}  // namespace daisy
