#pragma once
// A data dir belongs to one process: `daisy serve` (and the commands that
// write its SQLite database) hold an exclusive flock on <data-dir>/LOCK for
// their whole life. The kernel drops the lock with the process, so kill -9
// never leaves a stale one; the file keeps the holder's pid for the message
// that refuses a second process.

#include <string>

namespace daisy {

class DataDirLock {
 public:
  // Creates the data dir when it does not exist, then takes the lock. On
  // failure returns an unheld lock and sets error to one readable line
  // (in use by pid N, permission denied, ...).
  static DataDirLock acquire(const std::string& data_dir, std::string& error);

  DataDirLock() = default;
  ~DataDirLock();
  DataDirLock(DataDirLock&& other) noexcept;
  DataDirLock& operator=(DataDirLock&& other) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

  bool held() const { return fd_ >= 0; }

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace daisy
