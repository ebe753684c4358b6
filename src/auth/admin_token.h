#pragma once
// The admin token's life: a configured token replaces the stored hash; without
// one, the stored hash stays in force; on first start a token is generated.
// Only the SHA-256 hash is ever stored.

#include <string>

#include "auth/authenticator.h"
#include "store/store.h"

namespace daisy {

// Installs the admin hash into auth. Returns the newly generated token (to be
// shown once) or an empty string when none was generated.
Result<std::string> establish_admin_token(const std::string& configured, Store& store,
                                          Authenticator& auth);

}  // namespace daisy
