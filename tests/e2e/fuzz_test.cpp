// A small, reproducible fuzz: random and mutated requests must never crash or
// wedge the server.
#include <cstdint>

#include "harness.h"

namespace daisy_e2e {
namespace {

// splitmix64: the same sequence on every platform and standard library.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
  char byte() { return static_cast<char>(next() & 0xff); }

 private:
  std::uint64_t state_;
};

constexpr std::uint64_t kSeed = 0xda15e5eedULL;

std::vector<std::string> templates() {
  Headers admin = bearer(kAdminToken);
  return {
      build_request("GET", "/healthz"),
      build_request("GET", "/v1/apps?limit=2&after=abc", admin),
      build_request("POST", "/v1/apps", with(admin, json_content()), R"({"name":"fuzzed"})"),
      build_request("POST", "/v1/apps",
                    with(admin, {{"Content-Type", "application/json"}, {"Transfer-Encoding", "chunked"}}),
                    "5\r\n{\"nam\r\n9\r\ne\":\"fz\"}\r\n0\r\n\r\n"),
      build_request("DELETE", "/v1/apps/01890000-0000-7000-8000-000000000000", admin),
      build_request("POST", "/v1/apps", with(admin, {{"Content-Type", "application/json"}, {"Expect", "100-continue"}}),
                    R"({"name":"x"})"),
      build_request("HEAD", "/openapi.yaml", {{"X-Request-Id", "fuzz"}}),
  };
}

std::string random_bytes(Rng& rng) {
  std::string s(1 + rng.below(300), '\0');
  for (auto& c : s) c = rng.byte();
  return s;
}

std::string random_text(Rng& rng) {
  static constexpr std::string_view alphabet =
      "GETPOSTHEAD /:?&=%-_.v1apphealthzHTTP/1.0123456789 \r\n\r\n\t\"{}[],Content-Length: chunked";
  std::string s;
  std::size_t n = 1 + rng.below(200);
  for (std::size_t i = 0; i < n; ++i) s.push_back(alphabet[rng.below(alphabet.size())]);
  if (rng.below(2)) s += "\r\n\r\n";
  return s;
}

std::string mutate(std::string s, Rng& rng) {
  std::size_t edits = 1 + rng.below(8);
  for (std::size_t e = 0; e < edits && !s.empty(); ++e) {
    std::size_t at = rng.below(s.size());
    switch (rng.below(6)) {
      case 0:
        s[at] = rng.byte();
        break;  // replace a byte
      case 1:
        s.insert(at, 1, rng.byte());
        break;  // insert a byte
      case 2:
        s.erase(at, 1 + rng.below(4));
        break;  // delete bytes
      case 3:
        s.insert(at, s.substr(rng.below(s.size()), rng.below(40)));
        break;  // duplicate a run
      case 4:
        s.resize(at);
        break;   // truncate
      case 5: {  // swap in a digit run (lengths, chunk sizes)
        std::string digits = std::to_string(rng.next() % 100000);
        s.replace(at, std::min<std::size_t>(digits.size(), s.size() - at), digits);
        break;
      }
    }
  }
  return s;
}

class FuzzTest : public SharedServer<FuzzTest> {
 public:
  static DaisyProcess::Options options() { return {}; }
};

TEST_F(FuzzTest, TwoHundredRandomRequestsDoNotCrashTheServer) {
  Rng rng(kSeed);
  auto bases = templates();
  for (int i = 0; i < 200; ++i) {
    std::string input;
    switch (i % 4) {
      case 0:
        input = random_bytes(rng);
        break;
      case 1:
        input = random_text(rng);
        break;
      default:
        input = mutate(bases[rng.below(bases.size())], rng);
        break;
    }
    Client c = server().connect();
    ASSERT_TRUE(c.connected()) << "case " << i << " (seed " << kSeed << "): " << c.error();
    c.send_raw(input);  // the server may already have closed: a failed send is fine
    c.shutdown_write();
    Client::CloseResult result = c.read_until_close(10s);
    EXPECT_TRUE(result.closed) << "case " << i << " (seed " << kSeed
                               << "): the connection stayed open after the client finished";
    if (!result.data.empty()) {
      EXPECT_EQ(result.data.rfind("HTTP/1.1 ", 0), 0u)
          << "case " << i << ": reply is not HTTP: " << result.data.substr(0, 100);
    }
    if (i % 50 == 49) {
      ASSERT_TRUE(server().running()) << "the server died at case " << i << " (seed " << kSeed << ")";
    }
  }
  HttpResponse r = server().get("/healthz");
  EXPECT_EQ(r.status, 200) << r.summary();
  EXPECT_TRUE(server().running());
}

TEST_F(FuzzTest, RandomBytesAfterAGoodRequestOnOneConnection) {
  Rng rng(kSeed + 1);
  for (int i = 0; i < 30; ++i) {
    Client c = server().connect();
    ASSERT_EQ(c.request("GET", "/healthz").status, 200) << "case " << i;
    c.send_raw(i % 2 ? random_bytes(rng) : random_text(rng));
    c.shutdown_write();
    EXPECT_TRUE(c.wait_closed()) << "case " << i;
  }
  EXPECT_EQ(server().get("/healthz").status, 200);
}

}  // namespace
}  // namespace daisy_e2e
