#pragma once
// SQLite result codes mapped to Status: constraint violations are conflicts;
// full disk, I/O errors and lock timeouts are "unavailable" (retry later).

#include "store/sqlite/connection.h"
#include "store/status.h"

namespace daisy::sqlite {

inline Status status_of(int rc, Connection& db) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::ok();
  int primary = rc & 0xff;
  // The client sees a plain reason; SQLite's text names tables and columns.
  if (primary == SQLITE_INTERRUPT) {
    return Status::too_costly(
        "The query ran past its time budget. Narrow it: add since/until, session_id or category.");
  }
  if (primary == SQLITE_CONSTRAINT) return Status::conflict("the write conflicts with data already stored");
  if (primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_BUSY || primary == SQLITE_LOCKED ||
      primary == SQLITE_CANTOPEN) {
    return Status::unavailable(db.last_error());
  }
  return Status::internal(db.last_error());
}

}  // namespace daisy::sqlite
