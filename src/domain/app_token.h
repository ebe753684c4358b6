#pragma once
// An app's token as the server keeps it: only its SHA-256 hash.

#include <string>

#include "util/crypto.h"

namespace daisy {

struct AppToken {
  std::string app_id;
  Sha256 token_hash;
};

}  // namespace daisy
