// TablePlan: what one batch writes to one target table, worked out before any
// SQL runs. It names the columns to write (key columns first, then every wanted
// field of the row images, then the sink's own columns) and holds one planned
// row per key: the last event per key wins, with the stale-event guard the
// newest by source position, so no statement touches a row twice. Events it
// leaves out are counted as skipped (deletes disabled or without a key, older
// than an event of the same batch). Pure: no connection, no state beyond the
// plan; safe to use from any one thread.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sinks/postgres/table_catalog.h"
#include "sluice/change_event.h"
#include "sluice/config.h"
#include "sluice/sink.h"

namespace sluice::pg {

inline constexpr std::string_view kDeletedColumn = "__deleted";
inline constexpr std::string_view kDeletedAtColumn = "__deleted_at";
inline constexpr std::string_view kKafkaTopicColumn = "__connect_topic";
inline constexpr std::string_view kKafkaPartitionColumn = "__connect_partition";
inline constexpr std::string_view kKafkaOffsetColumn = "__connect_offset";

bool is_delete(const ChangeEvent& event);

// The table an event is written to: its routed table, else its topic with
// dots as underscores.
TableName target_of(const ChangeEvent& event);

// "topic[partition]@offset", for messages.
std::string origin_text(const ChangeEvent& event);

// Calls `visit(name)` for each primary key column of `event` under
// primary.key.mode, in order; none for mode none.
template <typename Visit>
void for_each_key_column(const SinkConfig& config, const ChangeEvent& event, Visit&& visit) {
  switch (config.primary_key_mode) {
    case PrimaryKeyMode::kNone: return;
    case PrimaryKeyMode::kKafka:
      for (std::string_view name : {kKafkaTopicColumn, kKafkaPartitionColumn, kKafkaOffsetColumn}) visit(name);
      return;
    case PrimaryKeyMode::kRecordValue:
    case PrimaryKeyMode::kRecordKey:
      if (config.primary_key_mode == PrimaryKeyMode::kRecordValue || !config.primary_key_fields.empty()) {
        for (const std::string& name : config.primary_key_fields) visit(std::string_view(name));
      } else if (event.key && event.key->schema) {
        for (const Column& c : event.key->schema->columns) visit(std::string_view(c.name));
      }
      return;
  }
}

// The primary key columns of `event` under primary.key.mode; empty for none.
std::vector<std::string> key_columns(const SinkConfig& config, const ChangeEvent& event);

// The value of key column `name` in `event` (record key first under
// record_key, row images first otherwise), or nullptr.
const Datum* key_value(const SinkConfig& config, const ChangeEvent& event, std::string_view name);

// Whether field `name` of `topic` is written, per field.include.list / field.exclude.list.
bool field_wanted(const SinkConfig& config, const std::string& topic, const std::string& name);

// A column written to a target table: where its values come from.
struct WriteColumn {
  std::string name;
  Column source;  // the change event's column (type, element type)
  enum class Kind {
    kValue,
    kTopicMeta,
    kPartitionMeta,
    kOffsetMeta,
    kDeletedFlag,
    kDeletedTime,
    kPosition,    // the stale-event guard's source position (history tables: the version's)
    kOpLetter,    // the event's op: c, r, u, d, t (history and changelog tables)
    kSourceTime,  // the source commit time (history: __valid_from; changelog: __source_ts)
    kValidTo,     // history: NULL when staged; the validity step sets it
    kIsCurrent,   // history: false when staged; the validity step sets it
  } kind = Kind::kValue;
  bool key = false;
  const TableColumn* target = nullptr;  // set once the target schema is known
};

// Builds the column list of a plan: each name once, in order of first use; a
// column added again as a key becomes a key.
class ColumnList {
 public:
  explicit ColumnList(std::vector<WriteColumn>& columns) : columns_(columns) {}

  void add(const std::string& name, const Column& source, WriteColumn::Kind kind, bool key);

 private:
  std::vector<WriteColumn>& columns_;
  std::unordered_map<std::string, size_t> index_;
};

// The source column of key column `name`: from the record key or a row image.
Column key_source(const ChangeEvent& event, const std::string& name);

// One row the plan writes: the event that wins for its key.
struct PlannedRow {
  size_t entry = 0;      // index into Batch::entries
  std::string key;       // the row key's identity (keyed and history plans): length-prefixed key texts
  std::string position;  // encoded source position (guarded, history: version_position(), changelog)
  size_t folded = 1;     // events this row stands for (keyed and history plans)
  // The row's first event in the batch created it at the source (create,
  // snapshot read): the target is not expected to hold it before the batch.
  bool created = false;
  // delete.mode = soft: a delete after a write of the same batch keeps that
  // write's values and marks the row deleted (an UPDATE would find no row).
  // History tables: the row is a deletion version (__deleted).
  bool soft_deleted = false;
  // History and changelog tables: a delete writes its before image.
  bool before_image = false;
};

struct TablePlan {
  std::vector<WriteColumn> columns;
  std::vector<std::string> primary_key;
  std::vector<PlannedRow> rows;
  std::unordered_map<std::string, size_t> row_of_key;  // PlannedRow::key -> index in rows (replica plans, keyed)
  bool keyed = false;    // primary.key.mode record_key or record_value
  bool one_row_per_key = false;  // a keyed replica plan: each key's events fold into one row
  bool guarded = false;  // keyed and stale.guard.enabled
  size_t applied = 0;    // events the rows stand for
  size_t skipped = 0;    // events left out, stale ones included
  size_t stale = 0;      // of those, older than an event of the same batch for the same row

  // The number of events planned row `key` stands for (1 for an unknown key).
  size_t events_of(const std::string& key) const;
};

// Plans `entries` (indexes into batch.entries, in order, all for one table and
// none a truncate or message).
TablePlan plan_table(const SinkConfig& config, const Batch& batch, std::span<const size_t> entries);

}  // namespace sluice::pg
