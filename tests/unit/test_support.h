#pragma once
// Helpers shared by the unit tests: a temporary directory removed at the end
// of the test, and a way to run a store coroutine to completion.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/field_error.h"

namespace daisy::test {

// Field errors in one line, for assertion messages.
inline std::string describe(const std::vector<FieldError>& errors) {
  std::string out;
  for (const auto& e : errors) out += "[" + e.field + ": " + e.message + "] ";
  return out;
}

inline bool has_field(const std::vector<FieldError>& errors, std::string_view field) {
  for (const auto& e : errors) {
    if (e.field == field) return true;
  }
  return false;
}

// True when s has exactly the shape: '#' a decimal digit, '%' a lower-case hex
// digit, '@' an ASCII letter; any other character stands for itself.
// (std::regex trips a g++ 12 -Wmaybe-uninitialized false positive in this build.)
inline bool matches_shape(std::string_view s, std::string_view shape) {
  if (s.size() != shape.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    switch (shape[i]) {
      case '#':
        if (c < '0' || c > '9') return false;
        break;
      case '%':
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
        break;
      case '@':
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
        break;
      default:
        if (c != shape[i]) return false;
    }
  }
  return true;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "daisy-test-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Runs one coroutine on a fresh io_context until it completes; rethrows its exception.
template <class T>
T run_awaitable(boost::asio::awaitable<T> awaitable) {
  boost::asio::io_context ioc;
  std::optional<T> result;
  std::exception_ptr error;
  boost::asio::co_spawn(ioc, std::move(awaitable), [&](std::exception_ptr e, T value) {
    if (e) {
      error = e;
    } else {
      result.emplace(std::move(value));
    }
  });
  ioc.run();
  if (error) std::rethrow_exception(error);
  if (!result) throw std::runtime_error("the coroutine did not complete");
  return std::move(*result);
}

}  // namespace daisy::test
