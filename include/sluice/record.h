// RawRecord: one Kafka record as the source delivered it, before decoding.
// Views point into memory kept alive by `owner` (for Kafka, the librdkafka
// message), so records are not copied on the hot path. Copy a RawRecord freely:
// copies share the owner. Not thread-safe to mutate; safe to read concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/types.h"

namespace sluice {

struct RecordHeader {
  std::string_view key;
  std::optional<std::string_view> value;  // nullopt: a header with a null value
};

// Where a record replayed from a dead-letter topic first came from: its
// original coordinates, which the decoder gives the event (lineage, source
// order) and the dead-letter producer writes again if it fails once more.
struct Lineage {
  std::string topic;
  Partition partition;
  Offset offset;
  int attempt = 1;  // dead-letter deliveries so far
};

struct RawRecord {
  std::string_view topic;
  Partition partition;
  Offset offset;
  int64_t timestamp_ms = 0;
  std::optional<std::string_view> key;    // nullopt: null key
  std::optional<std::string_view> value;  // nullopt: tombstone
  std::vector<RecordHeader> headers;
  // Set by `sluice replay`; null for live records, whose own coordinates are
  // their origin.
  std::shared_ptr<const Lineage> lineage;
  // Keeps the memory the views point into alive.
  std::shared_ptr<const void> owner;

  // Builds a record that owns copies of the given bytes (tests, replay, tools).
  static RawRecord copy_of(std::string topic, Partition partition, Offset offset, int64_t timestamp_ms,
                           std::optional<std::string> key, std::optional<std::string> value,
                           std::vector<std::pair<std::string, std::optional<std::string>>> headers = {});
};

}  // namespace sluice
