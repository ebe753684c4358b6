#include "observability/log_format.h"

#include <spdlog/pattern_formatter.h>

#include <fmt/format.h>

#include <atomic>
#include <optional>
#include <utility>
#include <vector>

#include "util/crypto.h"
#include "util/json_text.h"
#include "util/utf8.h"

namespace daisy {
namespace {

std::atomic<LogFormat> current_format{LogFormat::logfmt};

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

std::unique_ptr<spdlog::pattern_formatter> make_logfmt_formatter() {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<EscapedMessage>('*').set_pattern("ts=%Y-%m-%dT%H:%M:%S.%eZ level=%l %*");
  return formatter;
}

// The logfmt line, then converted.
class JsonFormatter : public spdlog::formatter {
 public:
  JsonFormatter() : logfmt_(make_logfmt_formatter()) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    spdlog::memory_buf_t line;
    logfmt_->format(msg, line);
    std::string_view text(line.data(), line.size());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    std::string json = logfmt_to_json(text);
    json.push_back('\n');
    dest.append(json.data(), json.data() + json.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }

 private:
  std::unique_ptr<spdlog::pattern_formatter> logfmt_;
};

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

// A plain JSON number: -?digits(.digits)?
bool is_plain_number(std::string_view v) {
  std::size_t i = v.starts_with('-') ? 1 : 0, digits = 0;
  for (; i < v.size() && v[i] >= '0' && v[i] <= '9'; ++i) ++digits;
  if (digits == 0 || (digits > 1 && v[v.starts_with('-') ? 1 : 0] == '0')) return false;
  if (i == v.size()) return true;
  if (v[i] != '.' || i + 1 == v.size()) return false;
  for (++i; i < v.size(); ++i) {
    if (v[i] < '0' || v[i] > '9') return false;
  }
  return true;
}

// Appends bytes, each one that is not part of well-formed UTF-8 as the text
// \xNN (as the logfmt line showed it).
void append_utf8_or_escape(std::string& out, std::string_view bytes) {
  for (std::size_t i = 0; i < bytes.size();) {
    auto c = static_cast<unsigned char>(bytes[i]);
    std::size_t n = c < 0x80 ? 1 : utf8_sequence_length(bytes, i);
    if (n == 0) {
      fmt::format_to(std::back_inserter(out), "\\x{:02x}", c);
      ++i;
    } else {
      out.append(bytes.substr(i, n));
      i += n;
    }
  }
}

struct Field {
  std::string key, value;
  bool number = false;
};

// The quoted value starting at line[i] (the opening quote), decoded; i is
// left after the closing quote. Escapes of bytes that are not text (\x80 and
// up, \uNNNN of hidden controls) stay as written.
std::optional<std::string> quoted_value(std::string_view line, std::size_t& i) {
  std::string raw;
  for (++i; i < line.size(); ++i) {
    char c = line[i];
    if (c == '"') {
      ++i;
      std::string value;
      append_utf8_or_escape(value, raw);
      return value;
    }
    if (c != '\\' || i + 1 == line.size()) {
      raw.push_back(c);
      continue;
    }
    char e = line[++i];
    std::string byte = e == 'x' && i + 2 < line.size() ? from_hex(line.substr(i + 1, 2)) : std::string();
    if (byte.size() == 1) {
      if (static_cast<unsigned char>(byte[0]) < 0x80) {
        raw += byte;
      } else {
        raw.append(line.substr(i - 1, 4));
      }
      i += 2;
    } else if (e == '"' || e == '\\') {
      raw.push_back(e);
    } else {
      raw.push_back('\\');
      raw.push_back(e);
    }
  }
  return std::nullopt;  // no closing quote
}

// The line's leading key=value pairs; `rest` is left at what follows them
// when the line goes on with something else ("" when it does not).
std::vector<Field> parse_logfmt(std::string_view line, std::string_view& rest) {
  std::vector<Field> fields;
  std::size_t i = 0;
  rest = {};
  while (true) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i == line.size()) return fields;
    std::size_t field_start = i;
    auto stop = [&] {
      rest = line.substr(field_start);
      return fields;
    };
    while (i < line.size() && is_key_char(line[i])) ++i;
    if (i == field_start || i == line.size() || line[i] != '=') return stop();
    Field f{std::string(line.substr(field_start, i - field_start)), {}};
    ++i;
    if (i < line.size() && line[i] == '"') {
      auto value = quoted_value(line, i);
      if (!value || (i < line.size() && line[i] != ' ')) return stop();
      f.value = std::move(*value);
    } else {
      std::size_t end = line.find(' ', i);
      if (end == std::string_view::npos) end = line.size();
      std::string_view bare = line.substr(i, end - i);
      f.number = is_plain_number(bare);
      append_utf8_or_escape(f.value, bare);
      i = end;
    }
    fields.push_back(std::move(f));
  }
}

}  // namespace

void set_log_format(LogFormat format) { current_format.store(format, std::memory_order_relaxed); }
LogFormat log_format() { return current_format.load(std::memory_order_relaxed); }

std::unique_ptr<spdlog::formatter> make_log_formatter() {
  if (log_format() == LogFormat::json) return std::make_unique<JsonFormatter>();
  return make_logfmt_formatter();
}

std::string logfmt_to_json(std::string_view line) {
  std::string_view rest;
  std::vector<Field> fields = parse_logfmt(line, rest);
  if (!rest.empty()) {
    // Free text after the pairs (a message not written as pairs) is kept whole.
    Field text{"msg", {}};
    for (const Field& f : fields) {
      if (f.key == "msg") text.key = "text";
    }
    append_utf8_or_escape(text.value, rest);
    fields.push_back(std::move(text));
  }
  std::string out = "{";
  for (const Field& f : fields) {
    if (out.size() > 1) out.push_back(',');
    append_json_string(out, f.key);
    out.push_back(':');
    if (f.number) {
      out += f.value;
    } else {
      append_json_string(out, f.value);
    }
  }
  out.push_back('}');
  return out;
}

}  // namespace daisy
