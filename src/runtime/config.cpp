#include "runtime/config.h"

#include <charconv>

namespace daisy {

std::string effective_db(const Config& config) {
  if (!config.db.empty()) return config.db;
  return "sqlite:" + config.data_dir + "/daisy.db";
}

std::string redacted_db(const Config& config) {
  std::string db = effective_db(config);
  // postgres://user:password@host/...
  if (auto scheme = db.find("://"); scheme != std::string::npos) {
    auto at = db.find('@', scheme + 3);
    auto colon = db.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at) {
      db.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // password=secret in a keyword string (or in a URI's query)
  for (auto at = db.find("password="); at != std::string::npos; at = db.find("password=", at + 1)) {
    auto end = db.find_first_of(" &", at);
    db.replace(at + 9, (end == std::string::npos ? db.size() : end) - at - 9, "***");
  }
  return db;
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
