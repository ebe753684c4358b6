#pragma once
// Shared by the fuzz targets: a check that aborts with a message (libFuzzer
// then saves the input as a crash), and a JSON validity test.

#include <boost/json/parse.hpp>

#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_CHECK(cond, what)                                                                        \
  do {                                                                                                \
    if (!(cond)) {                                                                                    \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s (%s)\n", __FILE__, __LINE__, what, #cond); \
      std::abort();                                                                                   \
    }                                                                                                 \
  } while (0)

namespace daisy::fuzz {

inline bool is_json(std::string_view text) {
  boost::json::error_code ec;
  boost::json::parse(text, ec);
  return !ec;
}

inline std::string_view as_text(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace daisy::fuzz
