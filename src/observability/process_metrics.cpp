#include "observability/process_metrics.h"

#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "observability/build_info.h"

namespace daisy {
namespace {

void gauge(std::string& out, const char* name, const char* type, const char* help, double value) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
}

// The fields of /proc/self/stat after the command name, which is in
// parentheses and may hold spaces: element 0 is field 3 (state).
std::vector<std::string> stat_fields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> fields;
  std::size_t close = line.rfind(')');
  if (close == std::string::npos) return fields;
  std::istringstream rest(line.substr(close + 1));
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

double boot_time_seconds() {
  std::ifstream in("/proc/stat");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("btime ", 0) == 0) return std::stod(line.substr(6));
  }
  return 0;
}

double open_fds() {
  std::error_code ec;
  double n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++n;
  return n;
}

}  // namespace

void render_process_metrics(std::string& out) {
  std::vector<std::string> f = stat_fields();
  constexpr std::size_t utime = 11, stime = 12, starttime = 19, vsize = 20, rss = 21;
  if (f.size() > rss) {
    double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    gauge(out, "process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.",
          (std::stod(f[utime]) + std::stod(f[stime])) / ticks);
    gauge(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", std::stod(f[rss]) * page);
    gauge(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", std::stod(f[vsize]));
    static const double started = boot_time_seconds() + std::stod(f[starttime]) / ticks;  // read once
    gauge(out, "process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch, in seconds.",
          started);
  }
  gauge(out, "process_open_fds", "gauge", "Open file descriptors.", open_fds());
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    gauge(out, "process_max_fds", "gauge", "The limit on open file descriptors (soft).",
          static_cast<double>(limit.rlim_cur));
  }
}

void render_build_info(std::string& out) {
  fmt::format_to(std::back_inserter(out),
                 "# HELP daisy_build_info The version and commit this binary was built from (value 1).\n"
                 "# TYPE daisy_build_info gauge\n"
                 "daisy_build_info{{version=\"{}\",commit=\"{}\"}} 1\n",
                 DAISY_VERSION, build_commit());
}

void render_data_dir_metrics(const std::string& data_dir, std::string& out) {
  struct statvfs fs {};
  if (statvfs(data_dir.c_str(), &fs) != 0) return;
  double unit = static_cast<double>(fs.f_frsize);
  gauge(out, "daisy_data_dir_free_bytes", "gauge",
        "Bytes free for Daisy (not root) on the file system of the data directory.",
        static_cast<double>(fs.f_bavail) * unit);
  gauge(out, "daisy_data_dir_size_bytes", "gauge", "Size of the file system of the data directory, in bytes.",
        static_cast<double>(fs.f_blocks) * unit);
}

}  // namespace daisy
