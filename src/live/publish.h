#pragma once
// How publishers announce a record: nothing is made unless an open stream
// can take the message's kind (no stream open costs one atomic load).

#include <memory>
#include <string>
#include <utility>

#include "live/live_bus.h"

namespace daisy::live {

// `attributes` without kind, n or data; make_data() returns the JSON text.
template <class MakeData>
void publish(LiveBus* bus, Kind kind, LiveMessage attributes, MakeData&& make_data) {
  if (!bus || !bus->wants(kind)) return;
  attributes.kind = kind;
  attributes.data = std::make_shared<const std::string>(std::forward<MakeData>(make_data)());
  bus->publish(std::move(attributes));
}

}  // namespace daisy::live
