#pragma once
// How the runner splits the jobs of one claim into deliveries: a kind that
// sends several jobs in one request (ActionKind::max_batch() > 1) gets the
// claimed jobs of one integration together, up to its limit; every other job
// is a delivery of its own.

#include <cstddef>
#include <functional>
#include <string_view>
#include <vector>

#include "store/job_store.h"

namespace daisy::jobs {

// The claimed jobs as deliveries, in the order their first job was claimed;
// within a delivery, jobs keep their claim order. max_batch gives an
// integration's limit (1, or 0, for one job at a time).
std::vector<std::vector<JobRow>> group_for_delivery(
    std::vector<JobRow> claimed, const std::function<std::size_t(std::string_view integration_id)>& max_batch);

}  // namespace daisy::jobs
