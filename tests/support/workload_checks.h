// Checks of a table against a DebeziumWorkload's expected final state, for
// end-to-end, replay and robustness tests. Not thread-safe (test thread).
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "debezium_workload.h"

namespace sluice::testing {

// Where a record landed in Kafka.
struct RecordAt {
  int32_t partition = 0;
  int64_t offset = 0;
  auto operator<=>(const RecordAt&) const = default;
};

// A generated workload and where its records landed.
struct ProducedWorkload {
  std::unique_ptr<workload::DebeziumWorkload> workload;
  std::map<int32_t, int64_t> end_offsets;  // partition -> next offset
  std::set<RecordAt> malformed;            // the records that must end in the dead-letter topic
};

// Generates `spec` and produces it into `topic` of the test dev broker.
ProducedWorkload produce_workload(const workload::WorkloadSpec& spec, const std::string& topic);

// Creates `topic` and produces into it the 20k generated events (seed
// 20261202) that the replay and outage tests share, over 24 partitions: events
// of about 2.5 KB keep each well under the ~5 MB the dev broker holds per
// partition.
ProducedWorkload produce_20k_workload(const std::string& topic);

// Rows that differ between `table` on `url` and the workload's expected
// final state, counted both ways (EXCEPT ALL), over the workload's columns.
int64_t rows_differing(const std::string& url, const std::string& table, const workload::DebeziumWorkload& workload);

}  // namespace sluice::testing
