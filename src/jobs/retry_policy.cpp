#include "jobs/retry_policy.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <random>
#include <string>

#include "util/time.h"

namespace daisy::jobs {

namespace {
constexpr std::chrono::seconds max_retry_after{24 * 3600};
}

std::optional<std::chrono::milliseconds> next_retry_delay(const std::vector<int>& schedule, int attempts_made,
                                                          double unit_random,
                                                          std::optional<std::chrono::seconds> retry_after) {
  if (attempts_made < 0 || static_cast<std::size_t>(attempts_made) >= schedule.size()) return std::nullopt;
  double base_ms = 1000.0 * schedule[static_cast<std::size_t>(attempts_made)];
  auto delay = std::chrono::milliseconds(static_cast<std::int64_t>(base_ms * (0.8 + 0.4 * unit_random)));
  if (retry_after) {
    auto asked = std::chrono::duration_cast<std::chrono::milliseconds>(std::min(*retry_after, max_retry_after));
    delay = std::max(delay, asked);
  }
  return delay;
}

void fail_or_bury(AttemptOutcome& outcome, const std::vector<int>& schedule, int attempts_made,
                  std::optional<std::chrono::seconds> retry_after) {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  double unit_random = std::uniform_real_distribution<double>(0.0, 1.0)(generator);
  auto delay = next_retry_delay(schedule, attempts_made, unit_random, retry_after);
  if (!delay) {
    outcome.status = "dead";
    outcome.due_ms = 0;
    return;
  }
  outcome.status = "failed";
  outcome.due_ms = now_ms() + delay->count();
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::int64_t s = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), s);
    if (ec == std::errc::result_out_of_range) return max_retry_after;
    if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
    return std::chrono::seconds(s);
  }
  std::tm tm{};
  std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
  auto left = std::chrono::duration_cast<std::chrono::seconds>(at - now);
  return std::max(left, std::chrono::seconds(0));
}

}  // namespace daisy::jobs
