#include "util/crypto.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace {

using namespace daisy;

std::string hex_of(const Sha256& h) { return to_hex({reinterpret_cast<const char*>(h.data()), h.size()}); }

TEST(Crypto, Sha256KnownVectors) {
  // FIPS 180-2 / NIST examples.
  EXPECT_EQ(hex_of(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex_of(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex_of(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hex_of(sha256(std::string(1000000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Crypto, Sha256HashesEmbeddedNulBytes) {
  std::string with_nul("a\0b", 3);
  EXPECT_NE(sha256(with_nul), sha256("a"));
  EXPECT_NE(sha256(with_nul), sha256(std::string("a\0c", 3)));
}

TEST(Crypto, Base64UrlRfc4648VectorsWithoutPadding) {
  // RFC 4648 section 10, with the '=' padding removed.
  EXPECT_EQ(base64url(""), "");
  EXPECT_EQ(base64url("f"), "Zg");
  EXPECT_EQ(base64url("fo"), "Zm8");
  EXPECT_EQ(base64url("foo"), "Zm9v");
  EXPECT_EQ(base64url("foob"), "Zm9vYg");
  EXPECT_EQ(base64url("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url("foobar"), "Zm9vYmFy");
}

TEST(Crypto, Base64UrlUsesTheUrlSafeAlphabet) {
  // Standard base64 would give "+/+/" and "//8=".
  EXPECT_EQ(base64url("\xfb\xff\xbf"), "-_-_");
  EXPECT_EQ(base64url("\xff\xff"), "__8");
  EXPECT_EQ(base64url(std::string("\0\0\0", 3)), "AAAA");
  EXPECT_EQ(base64url(std::string(32, '\xff')).size(), 43u);  // a token's random part
}

TEST(Crypto, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_FALSE(constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(constant_time_equal("secret", "Secret"));
  EXPECT_FALSE(constant_time_equal("secret", "secret2"));
  EXPECT_FALSE(constant_time_equal("", "x"));
  EXPECT_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
  EXPECT_TRUE(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
}

TEST(Crypto, ToHex) {
  EXPECT_EQ(to_hex(""), "");
  EXPECT_EQ(to_hex(std::string("\x00\x01\x7f\x80\xab\xff", 6)), "00017f80abff");
  EXPECT_EQ(to_hex("AZ"), "415a");
}

TEST(Crypto, SecureRandomBytes) {
  EXPECT_EQ(secure_random_bytes(0).size(), 0u);
  EXPECT_EQ(secure_random_bytes(32).size(), 32u);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(secure_random_bytes(16));
  EXPECT_EQ(seen.size(), 100u);
}

}  // namespace
