#include "jobs/kinds/webhook_signature.h"

#include <gtest/gtest.h>

#include "util/crypto.h"

namespace {

using daisy::jobs::new_webhook_secret;
using daisy::jobs::sign_webhook;

TEST(WebhookSignature, SecretsAreWhsecAndTwentyFourRandomBytes) {
  std::string a = new_webhook_secret(), b = new_webhook_secret();
  ASSERT_EQ(a.rfind("whsec_", 0), 0u);
  auto key = daisy::from_base64(a.substr(6));
  ASSERT_TRUE(key);
  EXPECT_EQ(key->size(), 24u);
  EXPECT_NE(a, b);
}

// The example of the Standard Webhooks specification's reference libraries.
TEST(WebhookSignature, MatchesTheSpecificationsExample) {
  auto signature = sign_webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                R"({"test": 2432232314})");
  ASSERT_TRUE(signature);
  EXPECT_EQ(*signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(WebhookSignature, DependsOnEveryPart) {
  std::string secret = new_webhook_secret();
  auto base = sign_webhook(secret, "id", 1, "{}");
  ASSERT_TRUE(base);
  EXPECT_NE(base, sign_webhook(secret, "id2", 1, "{}"));
  EXPECT_NE(base, sign_webhook(secret, "id", 2, "{}"));
  EXPECT_NE(base, sign_webhook(secret, "id", 1, "{ }"));
  EXPECT_NE(base, sign_webhook(new_webhook_secret(), "id", 1, "{}"));
}

TEST(WebhookSignature, RefusesMalformedSecrets) {
  EXPECT_FALSE(sign_webhook("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "id", 1, "{}"));
  EXPECT_FALSE(sign_webhook("whsec_", "id", 1, "{}"));
  EXPECT_FALSE(sign_webhook("whsec_not base64!", "id", 1, "{}"));
}

TEST(Base64, RoundTripsAndRefusesJunk) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto back = daisy::from_base64(daisy::base64(s));
    ASSERT_TRUE(back) << s;
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(daisy::base64("hello"), "aGVsbG8=");
  EXPECT_FALSE(daisy::from_base64("aGVsbG8"));  // not padded
  EXPECT_FALSE(daisy::from_base64("aGV*bG8="));
}

}  // namespace
