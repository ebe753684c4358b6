#include "auth/tokens.h"

namespace daisy {

std::string generate_token(std::string_view prefix) { return std::string(prefix) + base64url(secure_random_bytes(32)); }

}  // namespace daisy
