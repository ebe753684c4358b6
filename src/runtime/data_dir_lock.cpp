#include "runtime/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <utility>

namespace daisy {
namespace {

// The pid the holder wrote, or "" when it cannot be read.
std::string holder_pid(int fd) {
  char buffer[32] = {};
  ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  if (n <= 0) return {};
  std::string_view text(buffer, static_cast<std::size_t>(n));
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  return std::string(text.substr(0, digits));
}

}  // namespace

DataDirLock DataDirLock::acquire(const std::string& data_dir, std::string& error) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) {
    error = "cannot create the data dir " + data_dir + ": " + ec.message();
    return {};
  }
  std::string path = (fs::path(data_dir) / "LOCK").string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "cannot write in the data dir " + data_dir + " (" + path + "): " + std::strerror(errno);
    return {};
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EWOULDBLOCK) {
      std::string pid = holder_pid(fd);
      error = "the data dir " + data_dir + " is in use by another daisy process (" +
              (pid.empty() ? std::string("pid unknown") : "pid " + pid) +
              "): stop it, or give this one another --data-dir";
    } else {
      error = "cannot lock " + path + ": " + std::strerror(err);
    }
    ::close(fd);
    return {};
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    error = "cannot write in the data dir " + data_dir + " (" + path + "): " + std::strerror(errno);
    ::close(fd);
    return {};
  }
  return DataDirLock(fd);
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

DataDirLock::DataDirLock(DataDirLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

DataDirLock& DataDirLock::operator=(DataDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

}  // namespace daisy
