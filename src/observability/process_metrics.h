#pragma once
// Series about the process and the machine rather than the requests: the
// standard process_* family (as Prometheus' client libraries name them, so
// existing dashboards and alerts apply), daisy_build_info, and the free space
// of the data directory's file system (the disk-almost-full alert's input).
// Each appends complete # HELP/# TYPE blocks; read at each scrape.

#include <string>

namespace daisy {

// process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds,
// process_start_time_seconds (from /proc/self; Linux only).
void render_process_metrics(std::string& out);

// daisy_build_info{version,commit} 1.
void render_build_info(std::string& out);

// daisy_data_dir_free_bytes and daisy_data_dir_size_bytes of the file system
// holding data_dir; nothing when statvfs fails.
void render_data_dir_metrics(const std::string& data_dir, std::string& out);

}  // namespace daisy
