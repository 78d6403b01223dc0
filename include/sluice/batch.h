// Batch: the unit of delivery. Everything in a batch is applied and its offsets
// stored in one PostgreSQL transaction, after its rejects are durable in the
// dead-letter topic. Owned by one thread at a time (the pipeline hands it from
// the Kafka side to the PostgreSQL side).
#pragma once

#include <cstddef>
#include <vector>

#include "sluice/change_event.h"
#include "sluice/record.h"
#include "sluice/reject.h"
#include "sluice/types.h"

namespace sluice {

// A decoded, routed and validated event together with the record it came from,
// kept so a row PostgreSQL refuses can still be dead-lettered with its bytes.
struct BatchEntry {
  RawRecord raw;
  ChangeEvent event;
};

// A record rejected before the sink, waiting for the batch's DLQ flush.
struct RejectedRecord {
  RawRecord raw;
  Reject reject;
};

// Next offset to read of one partition, stored with the batch's rows.
struct PartitionOffset {
  TopicPartition partition;
  Offset next;
};

struct Batch {
  std::vector<BatchEntry> entries;         // in per-partition order
  std::vector<RejectedRecord> rejects;     // decode and validate rejects
  std::vector<PartitionOffset> offsets;    // one per partition the batch covers
  size_t skipped = 0;                      // messages (op m) and filtered events, counted only
};

}  // namespace sluice
