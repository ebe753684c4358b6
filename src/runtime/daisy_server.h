#pragma once
// Wires the parts of a running Daisy together: opens the store and migrates
// it, establishes the admin token, builds the router, serves until a stop
// signal, then drains and closes the store. Returns the process exit code.

#include "runtime/config.h"

namespace daisy {

int serve(const Config& config);
int migrate(const Config& config);
// `daisy admin-token --reset`: stores a new admin token's hash and prints the
// token. On SQLite it needs the data dir (refused while a server holds it).
int reset_admin_token(const Config& config);
// `daisy check`: the full integrity check of a SQLite database; prints ok or
// what is damaged. 0 sound, 1 damaged, 2 cannot check.
int check(const Config& config);

}  // namespace daisy
