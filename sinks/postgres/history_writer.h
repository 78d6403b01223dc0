// HistoryWriter: the set-wise SQL steps of history (SCD type 2) and changelog
// tables, run after the planned rows are staged by COPY (history_plan.h).
//
// History: the staged versions are inserted with ON CONFLICT DO NOTHING on
// (key, position), so a re-delivered event is the version already there; then
// __valid_to and __is_current of every version of each staged key are
// recomputed with one window over the key's versions in source order. A
// version is valid from its __valid_from to the next version's; the last one is
// current unless it is a deletion version, which is valid for no time at all
// (__valid_to = __valid_from) and closes the one before it. An old event that
// arrives late (a replay, a failover) therefore lands in its place in history
// and never becomes current, and a create after a delete opens a new current
// version. Source order is the order of the positions when all versions of the
// key have positions of one kind (and domain, see stale_guard.h); else the
// order of __valid_from, then the Kafka coordinates.
//
// Changelog: the staged rows are inserted with ON CONFLICT DO NOTHING on the
// Kafka coordinates.
//
// Runs on the sink's connection inside its transaction; used by one thread.
#pragma once

#include <string>
#include <vector>

#include "sinks/postgres/connection.h"
#include "sinks/postgres/table_catalog.h"
#include "sinks/postgres/table_plan.h"
#include "sluice/change_event.h"
#include "sluice/result.h"

namespace sluice::pg {

// One history or changelog table's staged rows and where they go.
struct StagedWrite {
  TableName table;
  std::string target;                // the table, quoted
  std::string staging;               // its staging table, quoted
  std::string column_list;           // the staged columns, quoted
  std::vector<WriteColumn> written;  // the staged columns
  std::vector<std::string> table_primary_key;  // the target's primary key, as the catalog read it
};

class HistoryWriter {
 public:
  // `position_column`: stale.guard.column, the versions' position.
  HistoryWriter(Connection& connection, std::string position_column)
      : connection_(connection), position_column_(std::move(position_column)) {}

  // Inserts the staged versions of `plan` (plan_history) and recomputes the
  // validity of their keys. Fatal when the table lacks a column of the plan or
  // its primary key is not the plan's (schema.evolution = none).
  Status write_versions(const TablePlan& plan, const StagedWrite& write);

  // Inserts the staged rows of `plan` (plan_changelog), once per Kafka record.
  Status write_changelog(const TablePlan& plan, const StagedWrite& write);

  // A truncate of history table `table` (nothing when it does not exist): a
  // deletion version at the truncate's position and time for every current
  // version not newer than it, holding that version's values. `scratch` is a
  // free temporary table name (unquoted).
  Status truncate(const TableName& table, const TableSchema& schema, const ChangeEvent& event,
                  const std::string& scratch);

 private:
  Status exec(const std::string& sql);
  // Fatal unless the table has every planned column and the plan's primary key.
  Status check_table(const TablePlan& plan, const StagedWrite& write) const;
  // Sets __valid_to and __is_current of every version of the keys in `keys_from`
  // (a table holding the key columns).
  Status recompute_validity(const std::string& target, const std::vector<std::string>& keys,
                            const std::string& keys_from);

  Connection& connection_;
  std::string position_column_;
};

}  // namespace sluice::pg
