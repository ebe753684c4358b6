#pragma once
// What the event routes share: the types in force, each app's policy for
// unknown types, the ingest settings and the rejection counters.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "domain/event.h"
#include "events/event_type_registry.h"

namespace daisy::events {

struct EventSettings {
  std::int64_t max_future_skew_ns = 60'000'000'000;  // a later timestamp is refused
  std::size_t rejection_cap = 100'000;               // rejected events kept, newest first
  std::size_t max_payload_bytes = 4096;              // raw payload kept per rejected event
  std::size_t max_data_bytes = 64 * 1024;            // an event's data, as JSON text
  std::size_t max_batch_events = 10'000;
  std::size_t max_inflated_bytes = 16 * 1024 * 1024;  // a gzip body, once decompressed
};

struct EventsState {
  EventSettings settings;
  EventTypeRegistry types;
  UnknownTypePolicies unknown_types;
  std::array<std::atomic<std::uint64_t>, 5> rejections{};  // by RejectionReason

  void count_rejection(RejectionReason reason) {
    rejections[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  }
  // Prometheus lines: daisy_event_rejections_total{reason="..."}.
  void render_metrics(std::string& out) const;
};

}  // namespace daisy::events
