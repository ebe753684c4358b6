#pragma once
// SQLite's own consistency checks, for start-up and `daisy check`.

#include <chrono>
#include <string>

#include "store/sqlite/connection.h"

namespace daisy::sqlite {

struct IntegrityVerdict {
  enum class State { ok, corrupt, unfinished } state = State::ok;
  std::string problems;  // SQLite's report (the first lines), when corrupt
};

// PRAGMA quick_check (quick) or integrity_check (full), stopped at the
// deadline: a large database is then `unfinished`, not judged.
IntegrityVerdict check_integrity(Connection& db, bool full, std::chrono::milliseconds budget);

}  // namespace daisy::sqlite
