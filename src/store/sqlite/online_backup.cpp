#include "store/sqlite/online_backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "store/sqlite/connection.h"

namespace daisy::sqlite {
namespace {

// Pages copied per step: 16 MB of 4 KB pages, a progress line every step.
constexpr int pages_per_step = 4096;

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};

Status sync_directory_of(const std::filesystem::path& file) {
  int fd = ::open(file.parent_path().empty() ? "." : file.parent_path().c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return Status::internal("cannot open the directory of " + file.string() + " to sync it");
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::ok() : Status::internal("cannot sync the directory of " + file.string());
}

// Copies from the source's open snapshot into a new file at `partial`.
Status copy_pages(Connection& source, const std::string& partial,
                  const std::function<void(const BackupProgress&)>& on_progress) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(partial.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  std::unique_ptr<sqlite3, CloseDb> dest(raw);
  if (rc != SQLITE_OK) return Status::internal("cannot create " + partial + ": " + sqlite3_errstr(rc));
  sqlite3_backup* backup = sqlite3_backup_init(dest.get(), "main", source.handle(), "main");
  if (!backup) return Status::internal("cannot start the copy: " + std::string(sqlite3_errmsg(dest.get())));
  BackupProgress progress;
  progress.page_size = [&] {
    auto stmt = source.prepare("PRAGMA page_size");
    return stmt.step() == SQLITE_ROW ? stmt.integer(0) : 0;
  }();
  do {
    rc = sqlite3_backup_step(backup, pages_per_step);
    progress.pages_total = sqlite3_backup_pagecount(backup);
    progress.pages_done = progress.pages_total - sqlite3_backup_remaining(backup);
    if (rc == SQLITE_OK || rc == SQLITE_DONE) on_progress(progress);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(50);  // held by another writer: try again shortly
  } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) return Status::internal("the copy failed: " + std::string(sqlite3_errstr(rc)));
  // The last step committed the copy with a sync (synchronous=FULL, the
  // default); a server opening it sets WAL mode again.
  return Status::ok();
}

}  // namespace

Status online_backup(const std::string& from, const std::string& to,
                     const std::function<void(const BackupProgress&)>& on_progress) {
  std::error_code ec;
  if (std::filesystem::exists(to, ec)) return Status::conflict(to + " exists already; give a new file");
  if (!std::filesystem::exists(from, ec)) return Status::not_found(from + " does not exist");
  std::string partial = to + ".partial";
  std::filesystem::remove(partial, ec);
  try {
    Connection source(from, Connection::Mode::read_only);
    // The snapshot: a read transaction, begun by its first read, held until
    // the copy is done.
    ReadTransaction snapshot(source);
    {
      auto first_read = source.prepare("SELECT count(*) FROM sqlite_schema");
      if (first_read.step() != SQLITE_ROW) return Status::internal("cannot read " + from + ": " + source.last_error());
    }
    if (Status s = copy_pages(source, partial, on_progress); !s.is_ok()) {
      std::filesystem::remove(partial, ec);
      return s;
    }
  } catch (const std::exception& e) {
    std::filesystem::remove(partial, ec);
    return Status::internal(e.what());
  }
  std::filesystem::rename(partial, to, ec);
  if (ec) return Status::internal("cannot rename " + partial + " to " + to + ": " + ec.message());
  return sync_directory_of(to);
}

}  // namespace daisy::sqlite
