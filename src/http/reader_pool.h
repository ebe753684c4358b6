#pragma once
// The readers: the pool of threads that runs the reads whose cost can exceed
// about a millisecond (scans, filtered listings, session and event queries,
// exports' rows, job listings), so that an I/O thread only parses, dispatches
// and writes. They run at a lower priority (nice 10) than the I/O threads, so
// that collection keeps the CPU when both want it.

#include "util/worker_pool.h"

namespace daisy::http {

using ReaderPool = WorkerPool;
using ReaderPoolSettings = WorkerPoolSettings;

}  // namespace daisy::http
