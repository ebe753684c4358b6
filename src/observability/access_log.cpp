#include "observability/access_log.h"

#include "util/append.h"

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

// Bytes that force a logfmt value into quotes: space and controls, '"', '=', '\\', DEL.
constexpr std::array<bool, 256> needs_quote_table = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c <= ' '; ++c) t[c] = true;
  t['"'] = t['='] = t['\\'] = t[0x7f] = true;
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
  out.push_back('"');
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      fmt::format_to(std::back_inserter(out), "\\x{:02x}", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

void append_access_line(std::string& out, const AccessRecord& r) {
  out.append("ts=");
  append_timestamp(out);
  out.append(" level=info msg=request request_id=");
  append_logfmt_value(out, r.request_id);
  out.append(" method=");
  append_logfmt_value(out, r.method);
  out.append(" target=");
  append_logfmt_value(out, r.target.size() > 512 ? r.target.substr(0, 512) : r.target);
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
  out.push_back('\n');
}

}  // namespace daisy
