#pragma once
// Writing jobs inside another write's transaction (the outbox): a response
// or an event batch and the jobs it triggers commit together or not at all.

#include <vector>

#include "store/sqlite/connection.h"
#include "store/status.h"
#include "store/store.h"

namespace daisy::sqlite {

Status insert_job_rows(Connection& db, const std::vector<JobRow>& jobs);

}  // namespace daisy::sqlite
