#include "observability/access_log.h"

#include "observability/log_format.h"

#include "util/append.h"
#include "util/utf8.h"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <ctime>

namespace daisy {
namespace {

void append_timestamp(std::string& out) {
  auto now = std::chrono::system_clock::now();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  thread_local std::time_t cached = -1;
  thread_local char prefix[32];
  if (secs != cached) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::strftime(prefix, sizeof prefix, "%Y-%m-%dT%H:%M:%S", &tm);
    cached = secs;
  }
  out.append(prefix);
  int ms = static_cast<int>((us / 1000) % 1000);
  char frac[5] = {'.', static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10),
                  static_cast<char>('0' + ms % 10), 'Z'};
  out.append(frac, 5);
}

}  // namespace

namespace {

// Bytes that force a logfmt value into quotes: space and controls, '"', '=',
// '\\', DEL, and every byte of a multi-byte sequence (checked one by one for
// C1 and bidirectional controls and for bytes that are not UTF-8).
constexpr std::array<bool, 256> needs_quote_table = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c <= ' '; ++c) t[c] = true;
  for (int c = 0x7f; c < 256; ++c) t[c] = true;
  t['"'] = t['='] = t['\\'] = true;
  return t;
}();

}  // namespace

void append_logfmt_value(std::string& out, std::string_view value) {
  bool quote = value.empty();
  for (unsigned char c : value) {
    if (needs_quote_table[c]) {
      quote = true;
      break;
    }
  }
  if (!quote) {
    out.append(value);
    return;
  }
  bool plain_utf8 = true;  // multi-byte text without hidden controls needs no quotes by itself
  for (unsigned char c : value) {
    if (c < 0x80 && needs_quote_table[c]) {
      plain_utf8 = false;
      break;
    }
  }
  if (plain_utf8 && !value.empty() && !has_hidden_control(value)) {
    out.append(value);
    return;
  }
  out.push_back('"');
  for (std::size_t i = 0; i < value.size();) {
    auto c = static_cast<unsigned char>(value[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c < 0x80) {
      if (c < 0x20 || c == 0x7f)
        fmt::format_to(std::back_inserter(out), "\\x{:02x}", c);
      else
        out.push_back(static_cast<char>(c));
      ++i;
    } else if (std::size_t n = utf8_sequence_length(value, i); n == 0) {
      fmt::format_to(std::back_inserter(out), "\\x{:02x}", c);
      ++i;
    } else if (char32_t cp = utf8_decode(value, i, n); is_hidden_control(cp)) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<std::uint32_t>(cp));
      i += n;
    } else {
      out.append(value.substr(i, n));
      i += n;
    }
  }
  out.push_back('"');
}

namespace {

// The target with the value of any key= query parameter replaced: only a
// publishable key belongs there, but a secret token sent by mistake must not
// reach the log.
std::string redacted_target(std::string_view target) {
  std::string out(target.substr(0, 512));
  std::size_t query = out.find('?');
  for (std::size_t at = query; at != std::string::npos && at + 1 < out.size(); at = out.find('&', at + 1)) {
    if (out.compare(at + 1, 4, "key=") != 0) continue;
    std::size_t value = at + 5, end = out.find('&', value);
    out.replace(value, (end == std::string::npos ? out.size() : end) - value, "[redacted]");
  }
  return out;
}

}  // namespace

namespace {

void append_logfmt_access_line(std::string& out, const AccessRecord& r) {
  out.append("ts=");
  append_timestamp(out);
  out.append(" level=info msg=request request_id=");
  append_logfmt_value(out, r.request_id);
  out.append(" method=");
  append_logfmt_value(out, r.method);
  out.append(" target=");
  append_logfmt_value(out, redacted_target(r.target));
  out.append(" route=");
  append_logfmt_value(out, r.route.empty() ? std::string_view("-") : r.route);
  out.append(" status=");
  append_decimal(out, static_cast<std::uint64_t>(r.status));
  out.append(" duration_ms=");
  append_fixed3(out, r.duration_ms < 0 ? 0 : r.duration_ms);
  out.append(" bytes_in=");
  append_decimal(out, r.bytes_in);
  out.append(" bytes_out=");
  append_decimal(out, r.bytes_out);
  out.append(" principal=");
  append_logfmt_value(out, r.principal);
  out.append(" remote=");
  append_logfmt_value(out, r.remote);
}

}  // namespace

void append_access_line(std::string& out, const AccessRecord& r) {
  if (log_format() == LogFormat::json) {
    thread_local std::string line;
    line.clear();
    append_logfmt_access_line(line, r);
    out += logfmt_to_json(line);
  } else {
    append_logfmt_access_line(out, r);
  }
  out.push_back('\n');
}

}  // namespace daisy
