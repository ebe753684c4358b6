#include "runtime/backup_command.h"

#include <chrono>
#include <cstdio>

#include "store/sqlite/online_backup.h"
#include "util/time.h"

namespace daisy {

int backup(const Config& config, const std::string& to) {
  std::string db = effective_db(config);
  if (db.rfind("sqlite:", 0) != 0) {
    std::fprintf(stderr,
                 "daisy backup: copies SQLite databases; on PostgreSQL use its own tools (pg_dump, or "
                 "pg_basebackup with WAL archiving): see docs/operations.md\n");
    return 2;
  }
  std::string from = db.substr(7);
  auto started = std::chrono::steady_clock::now();
  auto last_print = started - std::chrono::seconds(1);
  constexpr double mb = 1024.0 * 1024.0;
  Status status = sqlite::online_backup(from, to, [&](const sqlite::BackupProgress& p) {
    auto now = std::chrono::steady_clock::now();
    bool done = p.pages_done == p.pages_total;
    if (!done && now - last_print < std::chrono::seconds(1)) return;
    last_print = now;
    std::fprintf(stderr, "daisy backup: %.0f%% (%.1f of %.1f MB)\n",
                 p.pages_total ? 100.0 * static_cast<double>(p.pages_done) / static_cast<double>(p.pages_total) : 100.0,
                 static_cast<double>(p.pages_done * p.page_size) / mb,
                 static_cast<double>(p.pages_total * p.page_size) / mb);
  });
  if (!status.is_ok()) {
    std::fprintf(stderr, "daisy backup: %s\n", status.message().c_str());
    return status.code() == Status::Code::internal ? 1 : 2;
  }
  double seconds = seconds_since(started);
  std::printf("%s: backed up from %s in %.1f s; restore by putting it as daisy.db in an empty data dir\n", to.c_str(),
              from.c_str(), seconds);
  return 0;
}

}  // namespace daisy
