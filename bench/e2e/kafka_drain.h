// The Kafka-side limit of the end-to-end benchmark: a plain librdkafka consumer
// that reads every partition of a topic from the beginning to the given end
// offsets and does nothing with the records but count them. Throws
// std::runtime_error on a consumer error or when `timeout` passes.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace sluice::bench {

struct DrainResult {
  uint64_t records = 0;
  uint64_t bytes = 0;  // keys and values
  double seconds = 0;  // from assign() to the last record
};

DrainResult drain_topic(const std::string& bootstrap, const std::string& topic,
                        const std::map<int32_t, int64_t>& end_offsets, std::chrono::seconds timeout);

}  // namespace sluice::bench
