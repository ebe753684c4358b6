#pragma once
// The gRPC statuses of Daisy's refusals, made in one place from the same
// store statuses and field errors as the HTTP API's problems (api/replies.h):
// INVALID_ARGUMENT carries a google.rpc.BadRequest naming each field, in a
// google.rpc.Status in the grpc-status-details-bin trailer.

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <string>
#include <string_view>
#include <vector>

#include "domain/field_error.h"
#include "store/status.h"

namespace daisy::rpc {

grpc::Status invalid_argument(std::string message, const std::vector<FieldError>& errors);
// A store failure: NOT_FOUND (what names it), ABORTED for a conflict,
// UNAVAILABLE, INVALID_ARGUMENT for a query too costly, INTERNAL (logged).
grpc::Status store_failure(const Status& status, std::string_view what);

// The status a call ends with when its client gave up before the server
// finished it (call.IsCancelled()): DEADLINE_EXCEEDED if its deadline has
// passed, else CANCELLED. Its reply is not delivered, so the log and the
// metrics must say this rather than what the handler would have answered.
grpc::Status abandoned(const grpc::ServerContextBase& call);

// The code's name as gRPC spells it (OK, CANCELLED, ... UNAUTHENTICATED);
// UNKNOWN for a number beyond them.
std::string_view code_name(grpc::StatusCode code);

}  // namespace daisy::rpc
