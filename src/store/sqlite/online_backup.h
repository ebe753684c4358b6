#pragma once
// A consistent copy of a live SQLite database, taken while a server keeps
// writing to it (`daisy backup`).
//
// The copy is made with SQLite's backup API inside one read transaction on
// the source: in WAL mode that transaction sees a single snapshot for as long
// as it is open and blocks no writer, so the copy holds exactly what was
// committed when it began (everything acknowledged by then), however long it
// takes, and is never restarted by the server's commits. It is written to
// `<to>.partial`, synced, then renamed to `to`, so a file at `to` is always a
// whole backup.

#include <cstdint>
#include <functional>
#include <string>

#include "store/status.h"

namespace daisy::sqlite {

struct BackupProgress {
  std::int64_t pages_done = 0;
  std::int64_t pages_total = 0;
  std::int64_t page_size = 0;
};

// Copies the database at `from` to the new file `to` (refused if it exists).
// on_progress is called after each slice of pages.
Status online_backup(const std::string& from, const std::string& to,
                     const std::function<void(const BackupProgress&)>& on_progress);

}  // namespace daisy::sqlite
