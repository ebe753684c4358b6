#pragma once
// The admin token's life: a configured token replaces the stored hash; without
// one, the stored hash stays in force; on first start a token is generated.
// Only the SHA-256 hash is ever stored.

#include <string>

#include "auth/authenticator.h"
#include "store/app_store.h"

namespace daisy {

struct AdminTokenOutcome {
  std::string generated;         // a token made now, to be shown once ("" when none)
  bool replaced_stored = false;  // a configured token took the place of another stored hash
};

// Installs the admin hash into auth: the configured token's, else the stored
// one, else a generated token's.
Result<AdminTokenOutcome> establish_admin_token(const std::string& configured, AppStore& store, Authenticator& auth);

// Makes a new token and stores its hash in place of the old one (`daisy
// admin-token --reset`). Returns the new token, to be shown once.
Result<std::string> reset_admin_token(AppStore& store);

}  // namespace daisy
