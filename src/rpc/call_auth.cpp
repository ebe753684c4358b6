#include "rpc/call_auth.h"

#include <string_view>

namespace daisy::rpc {

std::optional<grpc::Status> authorize(const grpc::CallbackServerContext& call, const Authenticator& auth, Needs needs,
                                      Principal& out) {
  const auto& metadata = call.client_metadata();
  auto it = metadata.find("authorization");
  std::string_view header =
      it == metadata.end() ? std::string_view() : std::string_view(it->second.data(), it->second.size());
  switch (auth.authenticate(header, out)) {
    case Authenticator::Outcome::missing:
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "This call needs a bearer token: metadata authorization: Bearer <token>.");
    case Authenticator::Outcome::malformed:
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "The authorization metadata must be 'Bearer <token>'.");
    case Authenticator::Outcome::unknown:
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "The bearer token is not valid (unknown, rotated or deleted).");
    case Authenticator::Outcome::ok:
      break;
  }
  if (out.is_publishable()) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "A publishable key (dpk_...) is for pages; call gRPC with the app's secret token or the "
                        "admin token.");
  }
  if (needs == Needs::admin && !out.is_admin()) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "This method needs the admin token.");
  }
  if (needs == Needs::app && !out.is_app()) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "Events are sent with an app token, not the admin token.");
  }
  return std::nullopt;
}

}  // namespace daisy::rpc
