// Boost's assertion handler for the builds that keep assertions (the
// sanitizer build of `make test` and the fuzz build define
// BOOST_ENABLE_ASSERT_HANDLER; the release build has NDEBUG and no Boost
// assertions at all). A failed BOOST_ASSERT aborts, as it would without the
// handler, except for known over-strict assertions of the Boost 1.81 we build
// with, listed below with why they are harmless: a client could otherwise
// abort the test server with bytes the release build handles correctly.
#include <boost/assert.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace {

struct Known {
  const char* file_suffix;
  const char* expr;
};

constexpr Known known[] = {
    // Beast's parser asserts that a chunked body's last chunk arrives with at
    // least 5 bytes once "0\r\n" has been seen; split as "0\r\n" | "\r" | "\n"
    // it gets 4, then correctly asks for more. Fixed upstream in Boost 1.86
    // (boostorg/beast#2861). Found by the http fuzz target:
    // tests/fuzz/crashes/http/.
    {"boost/beast/http/impl/basic_parser.ipp", "n >= 5"},
};

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

namespace boost {

void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file, long line) {
  // DAISY_ALL_BOOST_ASSERTS=1: abort on the known ones too (to replay tests/fuzz/crashes/).
  static const bool all = std::getenv("DAISY_ALL_BOOST_ASSERTS") != nullptr;
  for (const auto& k : known) {
    if (all) break;
    if (std::strcmp(expr, k.expr) == 0 && ends_with(file, k.file_suffix)) return;
  }
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed%s%s\n", file, line, function, expr, msg ? ": " : "",
               msg ? msg : "");
  std::abort();
}

void assertion_failed(char const* expr, char const* function, char const* file, long line) {
  assertion_failed_msg(expr, nullptr, function, file, line);
}

}  // namespace boost
