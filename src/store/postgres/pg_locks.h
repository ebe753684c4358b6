#pragma once
// Every advisory lock key Daisy takes in PostgreSQL, in one place so that
// none collide (the keys spell their purpose in ASCII).

#include <cstdint>

namespace daisy::pg::locks {

// Session lock while migrating: nodes starting together apply each version once.
constexpr std::int64_t migrations = 0x6461697379;  // "daisy"
// Transaction lock of every write that logs rejected events: they are
// numbered without gaps and trimmed one transaction at a time.
constexpr std::int64_t rejections = 0x646169737972656a;  // "daisyrej"
// Transaction lock of every response insert and every job insert: responses
// and jobs commit in seq order, so a listing that follows its cursor (seq)
// never skips one. One lock for both, so that a transaction writing both
// (a submission that makes jobs) cannot deadlock with another taking them in
// the other order.
constexpr std::int64_t seq_order = 0x6461697379727370;  // "daisyrsp"

}  // namespace daisy::pg::locks
