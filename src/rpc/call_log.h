#pragma once
// One log line per gRPC call, as the access log has one per HTTP request,
// written when the call ends:
//   msg=call transport=grpc method=/daisy.v1.Daisy/Submit code=OK
//   duration_ms=1.234 peer=ipv4:127.0.0.1:50412
// A call ended without a status (the client went away first) is logged with
// code=CANCELLED, as is one the server ended because the client had
// cancelled it (a Watch notices within a second). The method and peer
// come from outside and are escaped (log_value). A stream is one line, at its
// end.

#include <grpcpp/support/server_interceptor.h>

#include <memory>

namespace daisy::rpc {

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> call_log_interceptor_factory();

}  // namespace daisy::rpc
