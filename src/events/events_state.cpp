#include "events/events_state.h"

namespace daisy::events {

void EventsState::render_metrics(std::string& out) const {
  out += "# HELP daisy_event_rejections_total Events refused at ingest, by reason.\n";
  out += "# TYPE daisy_event_rejections_total counter\n";
  for (std::size_t i = 0; i < rejections.size(); ++i) {
    out += "daisy_event_rejections_total{reason=\"";
    out += rejection_reason_name(static_cast<RejectionReason>(i));
    out += "\"} ";
    out += std::to_string(rejections[i].load(std::memory_order_relaxed));
    out += '\n';
  }
}

}  // namespace daisy::events
