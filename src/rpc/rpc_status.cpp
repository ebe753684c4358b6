#include "rpc/rpc_status.h"

#include <spdlog/spdlog.h>

#include <array>
#include <chrono>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "observability/log_value.h"

namespace daisy::rpc {

grpc::Status invalid_argument(std::string message, const std::vector<FieldError>& errors) {
  google::rpc::BadRequest bad_request;
  for (const auto& e : errors) {
    auto* violation = bad_request.add_field_violations();
    violation->set_field(e.field);
    violation->set_description(e.message);
  }
  google::rpc::Status details;
  details.set_code(grpc::StatusCode::INVALID_ARGUMENT);
  details.set_message(message);
  details.add_details()->PackFrom(bad_request);
  if (!errors.empty() && message.find(':') == std::string::npos) {
    // Tools that show only the message still name the first field.
    message += " (" + errors.front().field + ": " + errors.front().message + ")";
  }
  return {grpc::StatusCode::INVALID_ARGUMENT, message, details.SerializeAsString()};
}

grpc::Status store_failure(const Status& status, std::string_view what) {
  switch (status.code()) {
    case Status::Code::not_found:
      return {grpc::StatusCode::NOT_FOUND, std::string(what) + " was not found."};
    case Status::Code::conflict:
      return {grpc::StatusCode::ABORTED, status.message()};
    case Status::Code::unavailable:
      return {grpc::StatusCode::UNAVAILABLE, "The store cannot take this request now; retry shortly."};
    case Status::Code::too_costly:
      return invalid_argument(status.message(), {});
    case Status::Code::internal:
    case Status::Code::ok:
      break;
  }
  spdlog::error("msg=\"store failure\" transport=grpc what={} error={}", log_value(what), log_value(status.message()));
  return {grpc::StatusCode::INTERNAL, "The store failed; the error has been logged."};
}

grpc::Status abandoned(const grpc::ServerContextBase& call) {
  if (call.deadline() <= std::chrono::system_clock::now()) {
    return {grpc::StatusCode::DEADLINE_EXCEEDED, "The call's deadline passed before it finished."};
  }
  return {grpc::StatusCode::CANCELLED, "The client cancelled the call before it finished."};
}

std::string_view code_name(grpc::StatusCode code) {
  static constexpr std::array<std::string_view, 17> names = {
      "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
      "DATA_LOSS", "UNAUTHENTICATED"};
  auto c = static_cast<std::size_t>(code);
  return c < names.size() ? names[c] : names[static_cast<std::size_t>(grpc::StatusCode::UNKNOWN)];
}

}  // namespace daisy::rpc
