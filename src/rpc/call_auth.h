#pragma once
// Who is calling: the `authorization: Bearer <token>` metadata resolved by the
// same Authenticator as HTTP's Authorization header, and the rights a method
// needs. Publishable keys (for pages) are refused: gRPC is for backends.

#include <grpcpp/server_context.h>

#include <optional>

#include "auth/authenticator.h"

namespace daisy::rpc {

enum class Needs { app, admin, app_or_admin };

// nullopt when the caller (written to `out`) may call; otherwise the refusal:
// UNAUTHENTICATED, or PERMISSION_DENIED for a token without the right.
std::optional<grpc::Status> authorize(const grpc::CallbackServerContext& call, const Authenticator& auth, Needs needs,
                                      Principal& out);

}  // namespace daisy::rpc
