#pragma once
// Events as gRPC carries them (daisy.v1.Event), turned into what the
// ingestion reads: the JSON envelope the HTTP API takes, so that one set of
// checks (domain/event.h, events/ingest.h) serves both.

#include <grpcpp/support/status.h>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <deque>
#include <vector>

#include "daisy/v1/daisy.pb.h"
#include "events/ingest.h"
#include "rpc/rpc_context.h"

namespace daisy::rpc {

// The batch's events as SentEvents pointing into `owned` (kept in place as
// it grows), their JSON allocated from `storage`. An event whose data holds
// a number JSON cannot (NaN, infinity) or whose timestamp is out of range
// comes with a parse_error.
std::vector<events::SentEvent> sent_events(const daisy::v1::EventBatch& batch, const boost::json::storage_ptr& storage,
                                           std::deque<boost::json::value>& owned);

struct BatchOutcome {
  grpc::Status status;  // not OK: nothing was stored but, for a batch refused whole, its rejection
  events::IngestResult result;
};

// Checks and stores the batch's events for the app, as POST /v1/events does
// a batch: a batch empty or over --max-batch-events is refused whole
// (INVALID_ARGUMENT) and kept as one rejection.
boost::asio::awaitable<BatchOutcome> ingest_batch(RpcContext& ctx, const daisy::v1::EventBatch& batch,
                                                  const std::string& app_id);

// The ingestion's outcome as a reply's fields (BatchReply and Ack share them).
template <class Reply>
void fill_outcome(const events::IngestResult& result, Reply& reply) {
  reply.set_accepted(static_cast<std::uint32_t>(result.ids.size()));
  for (const auto& id : result.ids) reply.add_ids(id);
  for (const auto& [index, errors] : result.rejected) {
    auto* rejected = reply.add_rejected();
    rejected->set_index(static_cast<std::uint32_t>(index));
    for (const auto& e : errors) {
      auto* error = rejected->add_errors();
      error->set_field(e.field);
      error->set_message(e.message);
    }
  }
}

}  // namespace daisy::rpc
