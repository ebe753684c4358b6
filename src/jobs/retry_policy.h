#pragma once
// When a job that failed is tried again. schedule[k] is the delay before
// attempt k + 1 (schedule[0], usually 0, is the first attempt's); once every
// attempt of the schedule is used, the job is dead. A delay gets +-20%
// jitter, so that jobs that failed together do not all come back together.
// A Retry-After from the receiver (429, 503) is honoured when it asks for
// longer, up to a day.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "store/job_store.h"

namespace daisy::jobs {

// The delay before the next attempt after `attempts_made` attempts, or
// nullopt when none is left. `unit_random` is uniform in [0, 1).
std::optional<std::chrono::milliseconds> next_retry_delay(const std::vector<int>& schedule, int attempts_made,
                                                          double unit_random,
                                                          std::optional<std::chrono::seconds> retry_after = {});

// Ends a failed attempt: the job is failed (due after the next delay) or,
// when no attempt is left, dead.
void fail_or_bury(AttemptOutcome& outcome, const std::vector<int>& schedule, int attempts_made,
                  std::optional<std::chrono::seconds> retry_after = {});

// A Retry-After header's value: delay-seconds or an HTTP date (against now).
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now);

}  // namespace daisy::jobs
