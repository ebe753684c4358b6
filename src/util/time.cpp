#include "util/time.h"

#include <ctime>

namespace daisy {

std::string format_utc(Clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  // Written by hand: this runs several times per write request, and fmt's
  // generic path cost more than the rest of the formatting.
  char out[25] = "0000-00-00T00:00:00.000Z";
  auto put = [&](int pos, int value, int digits) {
    for (int i = digits - 1; i >= 0; --i) {
      out[pos + i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  put(0, tm.tm_year + 1900, 4);
  put(5, tm.tm_mon + 1, 2);
  put(8, tm.tm_mday, 2);
  put(11, tm.tm_hour, 2);
  put(14, tm.tm_min, 2);
  put(17, tm.tm_sec, 2);
  put(20, millis, 3);
  return std::string(out, 24);
}

void append_utc_ns(std::string& out, std::int64_t ns) {
  std::int64_t secs = ns / 1'000'000'000;
  std::int64_t frac = ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  int year = tm.tm_year + 1900;
  char* p = buf;
  auto put = [&](long long value, int digits) {
    for (int i = digits - 1; i >= 0; --i) {
      p[i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
    p += digits;
  };
  put(year, 4);
  *p++ = '-';
  put(tm.tm_mon + 1, 2);
  *p++ = '-';
  put(tm.tm_mday, 2);
  *p++ = 'T';
  put(tm.tm_hour, 2);
  *p++ = ':';
  put(tm.tm_min, 2);
  *p++ = ':';
  put(tm.tm_sec, 2);
  if (frac != 0) {
    *p++ = '.';
    if (frac % 1'000'000 == 0) {
      put(frac / 1'000'000, 3);
    } else if (frac % 1'000 == 0) {
      put(frac / 1'000, 6);
    } else {
      put(frac, 9);
    }
  }
  *p++ = 'Z';
  out.append(buf, static_cast<std::size_t>(p - buf));
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

std::string_view http_date_now() {
  thread_local std::time_t cached_second = 0;
  thread_local char buffer[64];
  thread_local std::size_t length = 0;
  std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    length = std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
  }
  return {buffer, length};
}

}  // namespace daisy
