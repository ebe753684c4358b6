#pragma once
// An app's credentials as the server keeps them: its token's SHA-256 hash
// only, and what its publishable key may do.

#include <string>

#include "domain/app.h"
#include "util/crypto.h"

namespace daisy {

struct AppToken {
  std::string app_id;
  Sha256 token_hash;
  AppAccess access{};
};

}  // namespace daisy
