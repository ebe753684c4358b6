#pragma once
// Wires the parts of a running Daisy together: opens the store and migrates
// it, establishes the admin token, builds the router, serves until a stop
// signal, then drains and closes the store. Returns the process exit code.

#include "runtime/config.h"

namespace daisy {

int serve(const Config& config);
int migrate(const Config& config);

}  // namespace daisy
