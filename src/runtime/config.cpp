#include "runtime/config.h"

#include <charconv>

namespace daisy {

std::string effective_db(const Config& config) {
  if (!config.db.empty()) return config.db;
  return "sqlite:" + config.data_dir + "/daisy.db";
}

bool parse_listen(const std::string& listen, std::string& host, unsigned short& port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= listen.size()) return false;
  host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) return false;
  unsigned value = 0;
  const char* begin = listen.data() + colon + 1;
  const char* end = listen.data() + listen.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc{} || ptr != end || value > 65535) return false;
  port = static_cast<unsigned short>(value);
  return true;
}

}  // namespace daisy
