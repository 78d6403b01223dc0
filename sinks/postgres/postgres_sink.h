// PostgresSink: applies batches of change events to PostgreSQL tables and
// stores the batch's Kafka offsets in the same transaction (exactly-once table
// state). Rows travel by COPY into a temporary staging table per target table,
// then set-wise INSERT ... ON CONFLICT / UPDATE ... FROM / DELETE ... USING;
// never one statement per row. A row PostgreSQL refuses (22xxx, 23xxx) is
// isolated by rolling back to a savepoint and bisecting the batch, and comes
// back in ApplyStats::rejects. With the stale-event guard (stale_guard.h), an
// event older than what its row already holds is skipped and counted in
// ApplyStats::stale. History (SCD type 2) and changelog tables, as insert.mode
// or beside the replica (table_routes.h), keep every event instead
// (history_writer.h). Used by one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sinks/postgres/connection.h"
#include "sinks/postgres/offsets_store.h"
#include "sinks/postgres/stale_guard.h"
#include "sinks/postgres/table_catalog.h"
#include "sinks/postgres/table_routes.h"
#include "sluice/config.h"
#include "sluice/sink.h"

namespace sluice::pg {

class PostgresSink final : public Sink {
 public:
  // Connects and creates the offsets table when missing. `consumer_group` is
  // the group whose offsets apply() stores.
  static Result<std::unique_ptr<PostgresSink>> open(const ConnectionConfig& connection, const SinkConfig& sink,
                                                    std::string consumer_group);
  static Result<std::unique_ptr<PostgresSink>> open(const Config& config) {
    return open(config.connection, config.sink, config.kafka.group_id());
  }

  Result<ApplyStats> apply(const Batch& batch, const BeforeCommit& before_commit) override;
  Result<std::map<TopicPartition, Offset>> load_offsets(const std::string& group,
                                                        const std::vector<TopicPartition>& partitions) override;

 private:
  class Apply;  // the work of one apply() call

  PostgresSink(ConnectionConfig connection, SinkConfig sink, std::string consumer_group);
  // Reconnects when there is no healthy connection.
  Status ensure_connected();

  ConnectionConfig connection_config_;
  SinkConfig config_;
  OffsetsStore offsets_;
  StaleGuard guard_;
  TableRoutes routes_;  // set by open()
  std::unique_ptr<Connection> connection_;
  TableCatalog catalog_{nullptr};
  uint64_t staging_counter_ = 0;
  // Set when a COMMIT failed with the connection lost: it may have committed.
  // The next apply() then skips a batch whose offsets are already stored, so
  // the retry does not apply it twice.
  bool commit_in_doubt_ = false;
};

}  // namespace sluice::pg
