// Produces a DebeziumWorkload into a Kafka topic, in order per partition, and
// reports where each record landed. For benchmarks and tests: failures throw
// std::runtime_error with librdkafka's reason.
#pragma once

#include <cstdint>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "debezium_workload.h"

namespace sluice::workload {

struct RecordCoordinates {
  int32_t partition = -1;
  int64_t offset = -1;
};

struct ProduceOptions {
  std::string bootstrap_servers;
  std::string topic;
  // Extra librdkafka producer properties.
  std::map<std::string, std::string> properties;
  // Produce only records [first, last) of the workload.
  size_t first = 0;
  size_t last = SIZE_MAX;
  // Records per second, paced against the wall clock; 0: as fast as possible.
  double rate = 0;
  // Overwrite each record's stamp (WorkloadRecord::stamp_at) with the time of
  // its produce() call in microseconds since the epoch, and set the Kafka
  // timestamp to the same instant (milliseconds). For latency runs.
  bool stamp = false;
};

// Malformed records carry the header `workload.invalid` = their reason, so a
// dead-letter topic can be checked against them. Returns the coordinates of
// every produced record, indexed like workload.records().
std::vector<RecordCoordinates> produce(const DebeziumWorkload& workload, const ProduceOptions& options);

}  // namespace sluice::workload
