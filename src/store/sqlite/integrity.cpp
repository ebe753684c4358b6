#include "store/sqlite/integrity.h"

namespace daisy::sqlite {

IntegrityVerdict check_integrity(Connection& db, bool full, std::chrono::milliseconds budget) {
  constexpr int max_lines = 10;
  IntegrityVerdict verdict;
  db.set_deadline(std::chrono::steady_clock::now() + budget);
  try {
    Statement check = db.prepare_text(full ? "PRAGMA integrity_check(10)" : "PRAGMA quick_check(10)");
    int lines = 0;
    int rc;
    while ((rc = check.step()) == SQLITE_ROW) {
      std::string line = check.text(0);
      if (line == "ok") continue;
      verdict.state = IntegrityVerdict::State::corrupt;
      if (lines++ < max_lines) verdict.problems += (verdict.problems.empty() ? "" : "; ") + line;
    }
    if (rc == SQLITE_INTERRUPT) {
      verdict.state = IntegrityVerdict::State::unfinished;
    } else if (rc != SQLITE_DONE) {
      verdict.state = IntegrityVerdict::State::corrupt;
      verdict.problems += (verdict.problems.empty() ? "" : "; ") + db.last_error();
    }
  } catch (const std::exception&) {
    // Damage can stop the check before it starts (the schema cannot be read).
    int code = sqlite3_errcode(db.handle()) & 0xff;
    if (code != SQLITE_CORRUPT && code != SQLITE_NOTADB) {
      db.clear_deadline();
      throw;
    }
    verdict.state = IntegrityVerdict::State::corrupt;
    verdict.problems = db.last_error();
  }
  db.clear_deadline();
  return verdict;
}

}  // namespace daisy::sqlite
