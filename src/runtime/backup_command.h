#pragma once
// `daisy backup --to FILE`: an online copy of the SQLite database a server
// may be writing to (store/sqlite/online_backup.h); restoring is putting FILE
// as daisy.db in an empty data dir. On PostgreSQL it points to the database's
// own tools. Returns the exit code: 0 copied, 1 failed, 2 cannot (usage).

#include <string>

#include "runtime/config.h"

namespace daisy {

int backup(const Config& config, const std::string& to);

}  // namespace daisy
