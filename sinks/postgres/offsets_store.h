// OffsetsStore: the offsets table (`offsets.table`, default sluice_offsets)
// that holds each consumer group's next offset per partition, written in the
// same transaction as the rows so table state is exactly-once. Used by one
// thread at a time, with the sink's connection.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "sinks/postgres/connection.h"
#include "sluice/batch.h"
#include "sluice/result.h"

namespace sluice::pg {

class OffsetsStore {
 public:
  OffsetsStore(std::string table, std::string consumer_group)
      : table_(std::move(table)), consumer_group_(std::move(consumer_group)) {}

  const std::string& consumer_group() const { return consumer_group_; }

  // Creates the table when it is missing (idempotent).
  Status ensure_table(Connection& connection);
  // Upserts `offsets` for the sink's consumer group; call inside the batch's
  // transaction. A stored offset only moves forward: an offset below the stored
  // one leaves it unchanged (rewinding is an operator's UPDATE or DELETE).
  Status store(Connection& connection, const std::vector<PartitionOffset>& offsets);
  // The stored next offsets of `partitions` for `group`; absent when never stored.
  Result<std::map<TopicPartition, Offset>> load(Connection& connection, const std::string& group,
                                                const std::vector<TopicPartition>& partitions);

 private:
  std::string table_;
  std::string consumer_group_;
};

}  // namespace sluice::pg
