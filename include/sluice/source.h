// Source: where raw records come from. Implementations: connectors/kafka
// (KafkaSource). A Source is driven by one thread; commit() may be called from
// another.
#pragma once

#include <chrono>
#include <vector>

#include "sluice/batch.h"
#include "sluice/record.h"
#include "sluice/result.h"

namespace sluice {

class Source {
 public:
  virtual ~Source() = default;

  // Up to `max_records` records, in per-partition order, waiting at most `timeout`
  // for the first one. kTransient errors are retried by the caller.
  virtual Result<std::vector<RawRecord>> poll(size_t max_records, std::chrono::milliseconds timeout) = 0;

  // Records in the source's own bookkeeping (the consumer group) that the
  // offsets were stored by the sink. Informational: the sink's copy is the truth.
  virtual Status commit(const std::vector<PartitionOffset>& offsets) = 0;
};

}  // namespace sluice
