// The Sheets action's pure parts: A1 notation, the rows an append reports,
// and the RS256 JWT a service account signs (verified here with OpenSSL
// against the key's public half, independently of Daisy's signing code).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json.hpp>
#include <memory>

#include "jobs/kinds/google_token.h"
#include "jobs/kinds/sheets_api.h"
#include "util/crypto.h"

namespace {

using namespace daisy;
using namespace daisy::jobs;

TEST(SheetsApi, ColumnLettersCountInBijectiveBase26) {
  EXPECT_EQ(column_letters(0), "A");
  EXPECT_EQ(column_letters(25), "Z");
  EXPECT_EQ(column_letters(26), "AA");
  EXPECT_EQ(column_letters(51), "AZ");
  EXPECT_EQ(column_letters(701), "ZZ");
  EXPECT_EQ(column_letters(702), "AAA");
}

TEST(SheetsApi, TabTitlesAreQuotedWithQuotesDoubled) {
  EXPECT_EQ(quoted_tab("Responses"), "'Responses'");
  EXPECT_EQ(quoted_tab("It's mine"), "'It''s mine'");
}

TEST(SheetsApi, TheFirstRowOfAnUpdatedRange) {
  EXPECT_EQ(first_row_of_range("'Responses'!A5:F7"), 5);
  EXPECT_EQ(first_row_of_range("Sheet1!B12"), 12);
  EXPECT_EQ(first_row_of_range("'a!b'!C3:D3"), 3);
  EXPECT_EQ(first_row_of_range("Sheet1!A:A"), std::nullopt);
  EXPECT_EQ(first_row_of_range("no range"), std::nullopt);
  EXPECT_EQ(first_row_of_range("'T'!A0"), std::nullopt);
}

TEST(SheetsApi, ValuesAppendIsRawAndInsertsRows) {
  SheetsConfig config;
  config.spreadsheet_id = "abc";
  config.sheet = "My tab";
  config.api_base = "https://sheets.example";
  boost::json::array rows{boost::json::array{"=1+1", 2}};
  net::FetchRequest r = values_append(config, rows, "tok");
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url,
            "https://sheets.example/v4/spreadsheets/abc/values/%27My%20tab%27%21A1:append"
            "?valueInputOption=RAW&insertDataOption=INSERT_ROWS");
  EXPECT_EQ(boost::json::parse(r.body),
            boost::json::parse(R"({"range":"'My tab'!A1","majorDimension":"ROWS","values":[["=1+1",2]]})"));
  bool bearer = false;
  for (const auto& [name, value] : r.headers) bearer |= name == "Authorization" && value == "Bearer tok";
  EXPECT_TRUE(bearer);
}

// base64url without padding, as JWT writes it, to bytes.
std::string from_base64url(std::string text) {
  for (char& c : text) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (text.size() % 4) text.push_back('=');
  return from_base64(text).value_or("");
}

TEST(GoogleToken, TheJwtIsSignedRs256WithTheClaimsGoogleAsksFor) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_RSA_gen(2048), EVP_PKEY_free);
  ASSERT_TRUE(key);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  ServiceAccountKey account;
  account.private_key.assign(data, static_cast<std::size_t>(length));
  account.client_email = "bot@project.iam.gserviceaccount.com";
  account.private_key_id = "kid1";
  account.token_uri = "https://oauth2.googleapis.com/token";
  EXPECT_TRUE(is_rsa_private_key_pem(account.private_key));
  EXPECT_FALSE(is_rsa_private_key_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));

  auto jwt = google_jwt(account, sheets_scope, 1'700'000'000);
  ASSERT_TRUE(jwt);
  auto first = jwt->find('.'), second = jwt->rfind('.');
  ASSERT_NE(first, second);
  auto header = boost::json::parse(from_base64url(jwt->substr(0, first)));
  auto claims = boost::json::parse(from_base64url(jwt->substr(first + 1, second - first - 1)));
  EXPECT_EQ(header, boost::json::parse(R"({"alg":"RS256","typ":"JWT","kid":"kid1"})"));
  EXPECT_EQ(claims, boost::json::parse(R"({"iss":"bot@project.iam.gserviceaccount.com",
      "scope":"https://www.googleapis.com/auth/spreadsheets","aud":"https://oauth2.googleapis.com/token",
      "iat":1700000000,"exp":1700003600})"));
  std::string signature = from_base64url(jwt->substr(second + 1));
  std::string signed_part = jwt->substr(0, second);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  ASSERT_EQ(EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()), 1);
  EXPECT_EQ(EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()),
            1);
  signed_part[3] ^= 1;
  ASSERT_EQ(EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()), 1);
  EXPECT_NE(EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()),
            1);
}

}  // namespace
