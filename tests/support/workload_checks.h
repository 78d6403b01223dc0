// Checks of a table against a DebeziumWorkload's expected final state, for
// end-to-end, replay and robustness tests. Not thread-safe (test thread).
#pragma once

#include <cstdint>
#include <string>

#include "debezium_workload.h"

namespace sluice::testing {

// Rows that differ between `table` on `url` and the workload's expected
// final state, counted both ways (EXCEPT ALL), over the workload's columns.
int64_t rows_differing(const std::string& url, const std::string& table, const workload::DebeziumWorkload& workload);

}  // namespace sluice::testing
