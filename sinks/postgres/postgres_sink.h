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

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
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
  // After a reconnect: fatal when the database lost commits this sink made
  // (its stored offsets are behind what was committed), since the consumer
  // has read past the events they covered.
  Status check_offsets_kept();
  // After a rollback: what the session created in it (tables, columns,
  // staging tables) may be gone.
  void forget_session_tables() {
    catalog_.clear();
    staging_tables_.clear();
  }

  ConnectionConfig connection_config_;
  SinkConfig config_;
  OffsetsStore offsets_;
  StaleGuard guard_;
  TableRoutes routes_;  // set by open()
  std::unique_ptr<Connection> connection_;
  TableCatalog catalog_{nullptr};
  // Temporary staging tables of this session by shape (target, columns and
  // their types), ON COMMIT DELETE ROWS. `used`: holds rows of the current
  // transaction. A table created in a rolled-back (sub)transaction is gone, so
  // every rollback forgets them all; new ones get new names.
  struct StagingTable {
    std::string name;  // quoted
    bool used = false;
  };
  std::unordered_map<std::string, StagingTable> staging_tables_;
  uint64_t staging_counter_ = 0;
  // Set when a COMMIT failed with the connection lost: it may have committed.
  // The next apply() then skips a batch whose offsets are already stored, so
  // the retry does not apply it twice.
  bool commit_in_doubt_ = false;
  // The next offsets this sink committed, per partition (the highest).
  std::map<TopicPartition, Offset> committed_;
  // Names already found holdable by PostgreSQL (Apply::identifier_reject), so
  // that the check costs a pointer compare per event: row schemas whose every
  // column name is (pinned, so a freed schema's address never passes for a
  // new one), and the tables whose schema and table names are (a hash look-up
  // per event, whatever order a batch's tables come in).
  std::vector<std::shared_ptr<const RowSchema>> names_checked_;
  std::unordered_set<TableName> tables_checked_;
};

}  // namespace sluice::pg
