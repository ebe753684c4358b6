#include "auth/authenticator.h"

#include <gtest/gtest.h>

#include "auth/tokens.h"

namespace {

using namespace daisy;
using Outcome = Authenticator::Outcome;

constexpr std::string_view admin_token = "dsy_admin_0123456789abcdef";

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override { auth.set_admin_hash(hash_token(admin_token)); }

  Outcome check(std::string_view header) { return auth.authenticate(header, principal); }

  Authenticator auth;
  Principal principal;
};

TEST_F(AuthenticatorTest, AdminToken) {
  EXPECT_EQ(check("Bearer " + std::string(admin_token)), Outcome::ok);
  EXPECT_TRUE(principal.is_admin());
  EXPECT_TRUE(principal.app_id.empty());
}

TEST_F(AuthenticatorTest, SchemeIsCaseInsensitiveAndSpacesAreTrimmed) {
  EXPECT_EQ(check("bearer " + std::string(admin_token)), Outcome::ok);
  EXPECT_EQ(check("BEARER   " + std::string(admin_token) + "  "), Outcome::ok);
  EXPECT_TRUE(principal.is_admin());
}

TEST_F(AuthenticatorTest, AppTokenResolvesItsApp) {
  std::string token = generate_token(app_token_prefix);
  auth.put_app("app-1", hash_token(token));
  EXPECT_EQ(check("Bearer " + token), Outcome::ok);
  EXPECT_TRUE(principal.is_app());
  EXPECT_FALSE(principal.is_admin());
  EXPECT_EQ(principal.app_id, "app-1");
}

TEST_F(AuthenticatorTest, Missing) {
  principal.kind = Principal::Kind::admin;  // left over from an earlier request
  EXPECT_EQ(check(""), Outcome::missing);
  EXPECT_FALSE(principal.authenticated());
}

TEST_F(AuthenticatorTest, Malformed) {
  EXPECT_EQ(check("Basic x"), Outcome::malformed);
  EXPECT_EQ(check("Basic " + std::string(admin_token)), Outcome::malformed);
  EXPECT_EQ(check("Bearer"), Outcome::malformed);
  EXPECT_EQ(check("Bearer "), Outcome::malformed);
  EXPECT_EQ(check("Bearer    "), Outcome::malformed);
  EXPECT_EQ(check("Bearer" + std::string(admin_token)), Outcome::malformed);
  EXPECT_EQ(check(std::string(admin_token)), Outcome::malformed);
  EXPECT_EQ(check("Bearer " + std::string(513, 'a')), Outcome::malformed);
  EXPECT_FALSE(principal.authenticated());
}

TEST_F(AuthenticatorTest, Unknown) {
  EXPECT_EQ(check("Bearer dsy_app_nobody"), Outcome::unknown);
  EXPECT_EQ(check("Bearer " + std::string(admin_token) + "x"), Outcome::unknown);
  EXPECT_EQ(check("Bearer " + std::string(512, 'a')), Outcome::unknown);
  EXPECT_FALSE(principal.authenticated());
}

TEST(Authenticator, WithoutAnAdminHashNothingIsAdmin) {
  Authenticator auth;
  Principal p;
  EXPECT_EQ(auth.authenticate("Bearer anything", p), Outcome::unknown);
  EXPECT_FALSE(p.is_admin());
}

TEST_F(AuthenticatorTest, PutAppReplacesTheOldToken) {
  std::string first = generate_token(app_token_prefix);
  std::string second = generate_token(app_token_prefix);
  auth.put_app("app-1", hash_token(first));
  auth.put_app("app-1", hash_token(second));
  EXPECT_EQ(check("Bearer " + first), Outcome::unknown);
  EXPECT_EQ(check("Bearer " + second), Outcome::ok);
  EXPECT_EQ(principal.app_id, "app-1");
}

TEST_F(AuthenticatorTest, RemoveApp) {
  std::string a = generate_token(app_token_prefix);
  std::string b = generate_token(app_token_prefix);
  auth.put_app("app-a", hash_token(a));
  auth.put_app("app-b", hash_token(b));
  auth.remove_app("app-a");
  EXPECT_EQ(check("Bearer " + a), Outcome::unknown);
  EXPECT_EQ(check("Bearer " + b), Outcome::ok);
  EXPECT_EQ(principal.app_id, "app-b");
  auth.remove_app("never-existed");  // harmless
  EXPECT_EQ(check("Bearer " + b), Outcome::ok);
}

TEST_F(AuthenticatorTest, ReplaceAppTokensDropsEverythingElse) {
  std::string old_token = generate_token(app_token_prefix);
  std::string kept = generate_token(app_token_prefix);
  auth.put_app("app-old", hash_token(old_token));
  auth.replace_app_tokens({AppToken{"app-kept", hash_token(kept)}});
  EXPECT_EQ(check("Bearer " + old_token), Outcome::unknown);
  EXPECT_EQ(check("Bearer " + kept), Outcome::ok);
  EXPECT_EQ(principal.app_id, "app-kept");
  EXPECT_EQ(check("Bearer " + std::string(admin_token)), Outcome::ok) << "the admin token is not affected";
}

TEST(Tokens, HavePrefixAndRandomPart) {
  std::string a = generate_token(app_token_prefix);
  std::string b = generate_token(app_token_prefix);
  EXPECT_EQ(a.rfind("dsy_app_", 0), 0u);
  EXPECT_EQ(a.size(), 8u + 43u);
  EXPECT_NE(a, b);
  EXPECT_EQ(generate_token(admin_token_prefix).rfind("dsy_admin_", 0), 0u);
  EXPECT_EQ(a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", 8),
            std::string::npos);
}

}  // namespace
