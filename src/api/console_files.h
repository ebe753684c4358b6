#pragma once
// The web console's files (web/console), built into the binary.

#include <span>
#include <string_view>

namespace daisy {

struct ConsoleFile {
  std::string_view path;  // relative to web/console, with '/' separators
  std::string_view bytes;
};

// Every file, sorted by path.
std::span<const ConsoleFile> console_files();

}  // namespace daisy
