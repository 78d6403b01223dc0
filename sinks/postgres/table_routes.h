// TableRoutes: the tables one event is written to, and how. Its table.name.format
// table in the mode insert.mode names (a replica: insert, upsert or update; a
// history; a changelog), plus the history.table.name.format and
// changelog.table.name.format tables when they are set, all in the batch's one
// transaction. Immutable after create(); thread-safe.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <vector>

#include "route/router.h"
#include "sluice/change_event.h"
#include "sluice/config.h"
#include "sluice/result.h"

namespace sluice::pg {

enum class TableMode : uint8_t {
  kReplica,    // one row per key (insert.mode insert, upsert, update)
  kHistory,    // every version of each key (SCD type 2)
  kChangelog,  // every event, appended
};

struct TableTarget {
  TableName table;
  TableMode mode = TableMode::kReplica;
  // Whether this write stands for the event in ApplyStats: the table.name.format
  // table's does; the extra history and changelog tables' do not, so an event
  // is counted once.
  bool counted = true;
  auto operator<=>(const TableTarget&) const = default;
};

class TableRoutes {
 public:
  // Fatal when a format is malformed (load_config() has checked them already).
  static Result<TableRoutes> create(const SinkConfig& config);

  // Appends the targets of `event` (already routed: event.table) to `out`,
  // after clearing it. Tombstones, which carry no source block, go to their
  // table.name.format table only (history and changelog tables leave them out).
  // kRecord error when an extra table's format needs a placeholder the event
  // lacks.
  Status targets_of(const ChangeEvent& event, std::vector<TableTarget>& out) const;

 private:
  TableMode mode_ = TableMode::kReplica;
  std::optional<Router> history_;
  std::optional<Router> changelog_;
};

}  // namespace sluice::pg
