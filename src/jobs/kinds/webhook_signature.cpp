#include "jobs/kinds/webhook_signature.h"

#include "util/crypto.h"

namespace daisy::jobs {

namespace {
constexpr std::string_view prefix = "whsec_";
}

std::string new_webhook_secret() { return std::string(prefix) + base64(secure_random_bytes(24)); }

std::optional<std::string> sign_webhook(std::string_view secret, std::string_view id, std::int64_t timestamp_s,
                                        std::string_view body) {
  if (secret.substr(0, prefix.size()) != prefix) return std::nullopt;
  auto key = from_base64(secret.substr(prefix.size()));
  if (!key || key->empty()) return std::nullopt;
  std::string signed_content;
  signed_content.reserve(id.size() + body.size() + 24);
  signed_content.append(id).append(".").append(std::to_string(timestamp_s)).append(".").append(body);
  return "v1," + base64(bytes_of(hmac_sha256(*key, signed_content)));
}

}  // namespace daisy::jobs
