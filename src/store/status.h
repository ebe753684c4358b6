#pragma once
// Expected outcomes of store operations, as values (LevelDB style).
// Exceptions are kept for programming errors only.

#include <optional>
#include <string>
#include <utility>

namespace daisy {

class Status {
 public:
  enum class Code { ok, not_found, conflict, unavailable, too_costly, internal };

  Status() = default;
  static Status ok() { return {}; }
  static Status not_found(std::string m = {}) { return {Code::not_found, std::move(m)}; }
  static Status conflict(std::string m) { return {Code::conflict, std::move(m)}; }
  // The store cannot answer now (disk full, database gone): retry later.
  static Status unavailable(std::string m) { return {Code::unavailable, std::move(m)}; }
  // A read would take longer than its budget (answered 422: narrow the query).
  static Status too_costly(std::string m) { return {Code::too_costly, std::move(m)}; }
  static Status internal(std::string m) { return {Code::internal, std::move(m)}; }

  bool is_ok() const { return code_ == Code::ok; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::ok;
  std::string message_;
};

// A value or the Status explaining its absence.
template <class T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT

  bool is_ok() const { return status_.is_ok() && value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T* operator->() { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace daisy
