// Sink: applies batches to the target and stores offsets with them, so table
// state is exactly-once. Implementations: sinks/postgres (PostgresSink).
// A Sink is used by one thread at a time.
#pragma once

#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "sluice/batch.h"
#include "sluice/result.h"

namespace sluice {

// A batch entry the target refused (constraint, data exception), isolated by
// splitting the batch.
struct SinkReject {
  size_t entry_index = 0;  // index into Batch::entries
  Reject reject;
};

struct ApplyStats {
  size_t applied = 0;  // events whose effect reached the table
  size_t skipped = 0;  // events skipped (stale, deletes disabled, ...), stale ones included
  size_t stale = 0;    // of those, events older than what the row already holds (stale-event guard)
  std::vector<SinkReject> rejects;
};

class Sink {
 public:
  virtual ~Sink() = default;

  // Called inside the transaction, before COMMIT, with the rows the target
  // refused. It must make them durable in the dead-letter topic; when it fails,
  // the transaction is rolled back and apply() returns its error.
  using BeforeCommit = std::function<Status(std::span<const SinkReject>)>;

  // Applies all entries and stores batch.offsets in one transaction.
  // Errors: kTransient (connection lost, serialization failure, deadlock) means
  // nothing was committed and the caller retries the whole batch; kFatal means
  // stop. Row-level failures are not errors: they come back in ApplyStats.
  virtual Result<ApplyStats> apply(const Batch& batch, const BeforeCommit& before_commit) = 0;

  // The stored next offsets of `partitions` for consumer group `group`;
  // partitions never committed are absent from the map.
  virtual Result<std::map<TopicPartition, Offset>> load_offsets(
      const std::string& group, const std::vector<TopicPartition>& partitions) = 0;
};

}  // namespace sluice
