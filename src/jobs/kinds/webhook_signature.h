#pragma once
// Webhook signing secrets and signatures, as the Standard Webhooks
// specification has them: a secret is "whsec_" + base64 of random bytes; a
// signature is "v1," + base64 of HMAC-SHA256 over "{id}.{timestamp}.{body}",
// keyed by the base64-decoded part of the secret after "whsec_".

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace daisy::jobs {

std::string new_webhook_secret();

// "v1,<base64>"; nullopt when the secret is not of the form above.
std::optional<std::string> sign_webhook(std::string_view secret, std::string_view id, std::int64_t timestamp_s,
                                        std::string_view body);

}  // namespace daisy::jobs
