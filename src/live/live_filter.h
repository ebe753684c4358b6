#pragma once
// Which messages a stream carries: the types asked for (all when none), the
// attributes asked for (a message without the attribute does not match), and
// the caller's scope (an app sees only its own responses and events).

#include <bitset>
#include <string>

#include "live/live_message.h"

namespace daisy::live {

struct LiveFilter {
  std::bitset<kind_count> kinds;  // none set: every type the scope allows
  std::string app_id, form_id, category, integration_id;
  std::string scope_app_id;  // set for an app token: only that app's records

  bool matches(const LiveMessage& m) const;
  // True when the filter can let this kind through (for the bus's cheap
  // "is anyone listening" check).
  bool wants(Kind k) const;
};

// Limits the filter to an app's own records, as an app token's streams are
// (responses and events, not job updates): "" when it may stream so, else
// why not.
std::string scope_to_app(LiveFilter& filter, const std::string& app_id);

}  // namespace daisy::live
