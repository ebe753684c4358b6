#include "observability/log_format.h"

#include <spdlog/pattern_formatter.h>

#include <fmt/format.h>

namespace daisy {
namespace {

// %* : the message with every control byte (C0 and DEL) escaped.
class EscapedMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    for (char ch : msg.payload) {
      auto c = static_cast<unsigned char>(ch);
      if (c < 0x20 || c == 0x7f) {
        fmt::format_to(std::back_inserter(dest), "\\x{:02x}", c);
      } else {
        dest.push_back(ch);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<EscapedMessage>(); }
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_log_formatter() {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<EscapedMessage>('*').set_pattern("ts=%Y-%m-%dT%H:%M:%S.%eZ level=%l %*");
  return formatter;
}

}  // namespace daisy
