#include "sinks/postgres/history_plan.h"

#include <chrono>
#include <cstdio>
#include <unordered_set>

#include "sinks/postgres/stale_guard.h"

namespace sluice::pg {
namespace {

// Byte offset of part `n` (0..3) in an encoded position.
constexpr size_t part_offset(size_t n) { return kPositionPrefixBytes + 8 * n; }

void put_u64_at(std::string& out, size_t at, uint64_t value) {
  for (size_t i = 0; i < 8; ++i) out[at + i] = static_cast<char>((value >> (56 - 8 * i)) & 0xff);
}

// Adds the key columns of `event` to `columns` and returns the key's identity
// (length-prefixed key texts), as plan_table() does.
std::string add_key(const SinkConfig& config, const ChangeEvent& event, ColumnList& columns) {
  std::string identity;
  for (const std::string& name : key_columns(config, event)) {
    columns.add(name, key_source(event, name), WriteColumn::Kind::kValue, true);
    const Datum* value = key_value(config, event, name);
    if (value != nullptr) identity += std::to_string(value->text.size()) + ":" + value->text + "|";
  }
  return identity;
}

// Adds the wanted columns of the row image a history or changelog row writes:
// after, or before for deletes.
void add_image(const SinkConfig& config, const ChangeEvent& event, ColumnList& columns) {
  const std::optional<Row>& image = is_delete(event) ? event.before : event.after;
  if (!image || !image->schema) return;
  for (const Column& column : image->schema->columns) {
    if (field_wanted(config, event.origin.topic, column.name)) {
      columns.add(column.name, column, WriteColumn::Kind::kValue, false);
    }
  }
}

void add_coordinates(ColumnList& columns, bool key) {
  columns.add(std::string(kKafkaTopicColumn), Column{std::string(kKafkaTopicColumn), FieldType::kString},
              WriteColumn::Kind::kTopicMeta, key);
  columns.add(std::string(kKafkaPartitionColumn), Column{std::string(kKafkaPartitionColumn), FieldType::kInt32},
              WriteColumn::Kind::kPartitionMeta, key);
  columns.add(std::string(kKafkaOffsetColumn), Column{std::string(kKafkaOffsetColumn), FieldType::kInt64},
              WriteColumn::Kind::kOffsetMeta, key);
}

Column meta(std::string_view name, FieldType type) { return Column{std::string(name), type}; }

}  // namespace

std::string version_position(const ChangeEvent& event) {
  std::string position = encode_position(event);
  if (event.source.position.kind == PositionKind::kTimestamp && position.size() == kPositionBytes) {
    put_u64_at(position, part_offset(1), static_cast<uint64_t>(static_cast<uint32_t>(event.origin.partition.value)));
    put_u64_at(position, part_offset(2), static_cast<uint64_t>(event.origin.offset.value));
  }
  return position;
}

int64_t event_time_ms(const ChangeEvent& event) {
  if (event.source.ts_ms != 0) return event.source.ts_ms;
  if (event.ts_ms != 0) return event.ts_ms;
  return event.origin.timestamp_ms;
}

std::string timestamp_text(int64_t ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> at{milliseconds(ms)};
  const sys_days day = floor<days>(at);
  const year_month_day date{day};
  const hh_mm_ss<milliseconds> time{at - day};
  int year = static_cast<int>(date.year());
  // PostgreSQL writes years before 1 as "<1-year> BC"; years after 9999 need no padding.
  bool bc = year <= 0;
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02u %02lld:%02lld:%02lld.%03lld+00%s", bc ? 1 - year : year,
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<long long>(time.hours().count()), static_cast<long long>(time.minutes().count()),
                static_cast<long long>(time.seconds().count()), static_cast<long long>(time.subseconds().count()),
                bc ? " BC" : "");
  return buffer;
}

TablePlan plan_history(const SinkConfig& config, const Batch& batch, std::span<const size_t> entries) {
  TablePlan plan;
  plan.keyed = config.primary_key_mode == PrimaryKeyMode::kRecordKey ||
               config.primary_key_mode == PrimaryKeyMode::kRecordValue;
  ColumnList columns(plan.columns);
  // Versions planned so far: key identity + position.
  std::unordered_map<std::string, size_t> row_of_version;
  for (size_t index : entries) {
    const ChangeEvent& event = batch.entries[index].event;
    const bool remove = is_delete(event);
    if (!plan.keyed || event.tombstone || (remove && !config.delete_enabled)) {
      ++plan.skipped;
      continue;
    }
    if (plan.primary_key.empty()) plan.primary_key = key_columns(config, event);
    std::string identity = add_key(config, event, columns);
    std::string position = version_position(event);
    ++plan.applied;
    auto [it, inserted] = row_of_version.try_emplace(identity + position, plan.rows.size());
    if (!inserted) {
      ++plan.rows[it->second].folded;
      continue;
    }
    PlannedRow row{index, std::move(identity), std::move(position)};
    row.soft_deleted = remove;
    row.before_image = remove;
    plan.rows.push_back(std::move(row));
    add_image(config, event, columns);
  }
  if (plan.rows.empty()) return plan;
  columns.add(std::string(kValidFromColumn), meta(kValidFromColumn, FieldType::kTimestampTz),
              WriteColumn::Kind::kSourceTime, false);
  columns.add(std::string(kValidToColumn), meta(kValidToColumn, FieldType::kTimestampTz), WriteColumn::Kind::kValidTo,
              false);
  columns.add(std::string(kIsCurrentColumn), meta(kIsCurrentColumn, FieldType::kBoolean),
              WriteColumn::Kind::kIsCurrent, false);
  columns.add(std::string(kDeletedColumn), meta(kDeletedColumn, FieldType::kBoolean), WriteColumn::Kind::kDeletedFlag,
              false);
  columns.add(std::string(kEventOpColumn), meta(kEventOpColumn, FieldType::kString), WriteColumn::Kind::kOpLetter,
              false);
  // The position is part of the primary key: a table without it is missing a key column.
  columns.add(config.stale_guard_column, meta(config.stale_guard_column, FieldType::kBytes),
              WriteColumn::Kind::kPosition, true);
  add_coordinates(columns, false);
  plan.primary_key.push_back(config.stale_guard_column);
  return plan;
}

TablePlan plan_changelog(const SinkConfig& config, const Batch& batch, std::span<const size_t> entries) {
  TablePlan plan;
  ColumnList columns(plan.columns);
  add_coordinates(columns, true);
  plan.primary_key = {std::string(kKafkaTopicColumn), std::string(kKafkaPartitionColumn),
                      std::string(kKafkaOffsetColumn)};
  for (size_t index : entries) {
    const ChangeEvent& event = batch.entries[index].event;
    const bool remove = is_delete(event);
    if (event.tombstone || (remove && !config.delete_enabled)) {
      ++plan.skipped;
      continue;
    }
    ++plan.applied;
    PlannedRow row{index, "", encode_position(event)};
    row.before_image = remove;
    plan.rows.push_back(std::move(row));
    if (event.op == Op::kTruncate) continue;
    // The row key's columns, outside the primary key (the Kafka coordinates).
    add_key(config, event, columns);
    add_image(config, event, columns);
  }
  if (plan.rows.empty()) return plan;
  columns.add(std::string(kEventOpColumn), meta(kEventOpColumn, FieldType::kString), WriteColumn::Kind::kOpLetter,
              false);
  columns.add(config.stale_guard_column, meta(config.stale_guard_column, FieldType::kBytes),
              WriteColumn::Kind::kPosition, false);
  columns.add(std::string(kSourceTimeColumn), meta(kSourceTimeColumn, FieldType::kTimestampTz),
              WriteColumn::Kind::kSourceTime, false);
  return plan;
}

}  // namespace sluice::pg
