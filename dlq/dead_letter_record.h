// DeadLetterRecord: what a record of a dead-letter topic says about itself,
// read from the context headers the producer wrote (dead_letter_headers.h),
// and the record to process again when it is replayed. Header values are
// untrusted: numbers are parsed strictly, and a record without its original
// coordinates cannot be replayed. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "config/command_line.h"
#include "sluice/record.h"
#include "sluice/result.h"

namespace sluice::dlq {

struct DeadLetterRecord {
  // The record's place in the dead-letter topic.
  std::string dlq_topic;
  Partition dlq_partition;
  Offset dlq_offset;
  // Where the record first came from (__connect.errors.topic/partition/offset).
  std::string topic;
  Partition partition;
  Offset offset;
  bool has_origin = false;  // all three original coordinates were present and valid
  std::string stage;        // decode | validate | sink (as written)
  std::string rule;         // sluice.errors.rule, the reason
  std::string table;
  std::string column;
  std::string message;               // __connect.errors.exception.message
  std::optional<int64_t> failed_ms;  // sluice.errors.timestamp
  int attempt = 1;                   // sluice.errors.attempt (1 when absent)
  int64_t record_timestamp_ms = 0;   // the Kafka timestamp, kept from the original record
};

// Reads the context headers of `record`, consumed from a dead-letter topic.
DeadLetterRecord read_dead_letter(const RawRecord& record);

// The record to process again: the original key, value and headers (the
// context headers removed), positioned where it was consumed (so offsets are
// the dead-letter topic's) and carrying its original coordinates as lineage.
// Error (kRecord, reason missing_lineage) when the coordinates are absent,
// e.g. when errors.deadletterqueue.context.headers.enable was false.
Result<RawRecord> replay_record(const RawRecord& record, const DeadLetterRecord& info);

// Whether `info` passes every filter that is set.
bool matches(const ReplayFilters& filters, const DeadLetterRecord& info);

}  // namespace sluice::dlq
