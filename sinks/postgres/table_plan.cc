#include "sinks/postgres/table_plan.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "sinks/postgres/stale_guard.h"

namespace sluice::pg {
namespace {

bool topic_matches(const std::string& pattern, const std::string& topic) {
  return pattern.empty() || pattern == "*" || pattern == topic;
}

}  // namespace

void ColumnList::add(const std::string& name, const Column& source, WriteColumn::Kind kind, bool key) {
  auto [it, inserted] = index_.try_emplace(name, columns_.size());
  if (inserted) {
    columns_.push_back(WriteColumn{name, source, kind, key, nullptr});
  } else if (key) {
    columns_[it->second].key = true;
  }
}

Column key_source(const ChangeEvent& event, const std::string& name) {
  for (const auto* row : {&event.key, &event.after, &event.before}) {
    if (*row && (*row)->schema) {
      if (const Column* column = (*row)->column(name)) return *column;
    }
  }
  return Column{name};
}

bool is_delete(const ChangeEvent& event) { return event.tombstone || event.op == Op::kDelete; }

TableName target_of(const ChangeEvent& event) {
  if (!event.table.name.empty()) return event.table;
  std::string name = event.origin.topic;
  std::replace(name.begin(), name.end(), '.', '_');
  return TableName{"", name};
}

std::string origin_text(const ChangeEvent& event) {
  return event.origin.topic + "[" + std::to_string(event.origin.partition.value) + "]@" +
         std::to_string(event.origin.offset.value);
}

std::vector<std::string> key_columns(const SinkConfig& config, const ChangeEvent& event) {
  std::vector<std::string> names;
  for_each_key_column(config, event, [&](std::string_view name) { names.emplace_back(name); });
  return names;
}

const Datum* key_value(const SinkConfig& config, const ChangeEvent& event, std::string_view name) {
  const Datum* value = nullptr;
  auto look = [&](const std::optional<Row>& row) {
    if (value == nullptr && row && row->schema) value = row->find(name);
  };
  if (config.primary_key_mode == PrimaryKeyMode::kRecordKey) {
    look(event.key);
    look(event.after);
    look(event.before);
  } else {
    look(event.after);
    look(event.before);
    look(event.key);
  }
  return value;
}

bool field_wanted(const SinkConfig& config, const std::string& topic, const std::string& name) {
  bool any_include = false, included = false;
  for (const auto& [t, f] : config.field_include) {
    if (!topic_matches(t, topic)) continue;
    any_include = true;
    if (f == name) included = true;
  }
  if (any_include && !included) return false;
  for (const auto& [t, f] : config.field_exclude) {
    if (topic_matches(t, topic) && f == name) return false;
  }
  return true;
}

size_t TablePlan::events_of(const std::string& key) const {
  auto it = row_of_key.find(key);
  return it != row_of_key.end() ? rows[it->second].folded : 1;
}

TablePlan plan_table(const SinkConfig& config, const Batch& batch, std::span<const size_t> entries) {
  TablePlan plan;
  plan.keyed = config.primary_key_mode == PrimaryKeyMode::kRecordKey ||
               config.primary_key_mode == PrimaryKeyMode::kRecordValue;
  // The stale-event guard needs a key to remember positions by.
  plan.guarded = plan.keyed && config.stale_guard;
  const bool soft = config.delete_mode == DeleteMode::kSoft;
  ColumnList columns(plan.columns);
  plan.rows.reserve(entries.size());
  plan.one_row_per_key = plan.keyed;
  if (plan.keyed) plan.row_of_key.reserve(entries.size());

  if (config.primary_key_mode == PrimaryKeyMode::kKafka) {
    columns.add(std::string(kKafkaTopicColumn), Column{std::string(kKafkaTopicColumn), FieldType::kString},
                WriteColumn::Kind::kTopicMeta, true);
    columns.add(std::string(kKafkaPartitionColumn), Column{std::string(kKafkaPartitionColumn), FieldType::kInt32},
                WriteColumn::Kind::kPartitionMeta, true);
    columns.add(std::string(kKafkaOffsetColumn), Column{std::string(kKafkaOffsetColumn), FieldType::kInt64},
                WriteColumn::Kind::kOffsetMeta, true);
    plan.primary_key = key_columns(config, batch.entries[entries.front()].event);
  }

  // Events of a batch mostly share their row schemas: the key and value
  // columns are collected once per combination (the batch keeps every
  // schema alive, so a pointer names one).
  struct Shapes {
    const RowSchema* key = nullptr;
    const RowSchema* after = nullptr;
    const RowSchema* before = nullptr;
    bool operator==(const Shapes&) const = default;
  };
  auto shapes_of = [](const ChangeEvent& event) {
    auto schema = [](const std::optional<Row>& row) { return row ? row->schema.get() : nullptr; };
    return Shapes{schema(event.key), schema(event.after), schema(event.before)};
  };
  std::optional<Shapes> keys_collected;  // the shapes `keys` and their columns were collected for
  std::vector<std::string> keys;
  std::optional<std::pair<const RowSchema*, const std::string*>> values_collected;  // after schema, topic
  std::string identity;
  for (size_t index : entries) {
    const ChangeEvent& event = batch.entries[index].event;
    const bool remove = is_delete(event);
    if (remove && (!config.delete_enabled || !plan.keyed)) {
      ++plan.skipped;
      continue;
    }
    if (!plan.keyed) {
      ++plan.applied;
      plan.rows.push_back(PlannedRow{index});
    } else {
      Shapes shapes = shapes_of(event);
      const bool new_shapes = keys_collected != shapes;
      if (new_shapes) {
        keys = key_columns(config, event);
        keys_collected = shapes;
      }
      if (plan.primary_key.empty()) plan.primary_key = keys;
      identity.clear();
      for (const std::string& name : keys) {
        const Datum* value = key_value(config, event, name);
        if (new_shapes) columns.add(name, key_source(event, name), WriteColumn::Kind::kValue, true);
        char length[24];
        auto [end, ec] = std::to_chars(length, length + sizeof length, value->text.size());
        identity.append(length, end).append(1, ':').append(value->text).append(1, '|');
      }
      std::string position = plan.guarded ? encode_position(event) : std::string();
      auto [it, inserted] = plan.row_of_key.try_emplace(identity, plan.rows.size());
      if (inserted) {
        plan.rows.push_back(PlannedRow{index, identity, std::move(position)});
        plan.rows.back().created = event.op == Op::kCreate || event.op == Op::kRead;
        ++plan.applied;
      } else {
        PlannedRow& row = plan.rows[it->second];
        const ChangeEvent& planned = batch.entries[row.entry].event;
        if (plan.guarded && event.tombstone && is_delete(planned)) {
          // The tombstone after a delete: the delete already removes the row
          // and carries the source position to remember it by.
        } else if (plan.guarded && position_before(position, row.position)) {
          // Older than an event of this batch for the same row.
          ++plan.skipped;
          ++plan.stale;
          continue;
        } else if (soft && remove && !is_delete(planned)) {
          row.soft_deleted = true;
          if (plan.guarded && !event.tombstone) row.position = std::move(position);
        } else {
          row.entry = index;
          row.soft_deleted = false;
          if (plan.guarded) row.position = std::move(position);
        }
        ++row.folded;
        ++plan.applied;
      }
    }
    if (!remove) {
      const RowSchema* after = event.after->schema.get();
      if (!values_collected || values_collected->first != after || *values_collected->second != event.origin.topic) {
        for (const Column& column : after->columns) {
          if (field_wanted(config, event.origin.topic, column.name)) {
            columns.add(column.name, column, WriteColumn::Kind::kValue, false);
          }
        }
        values_collected.emplace(after, &event.origin.topic);
      }
    }
  }
  if (plan.rows.empty()) return plan;
  if (plan.guarded) {
    columns.add(config.stale_guard_column, Column{config.stale_guard_column, FieldType::kBytes},
                WriteColumn::Kind::kPosition, false);
  }
  if (soft) {
    columns.add(std::string(kDeletedColumn), Column{std::string(kDeletedColumn), FieldType::kBoolean},
                WriteColumn::Kind::kDeletedFlag, false);
    columns.add(std::string(kDeletedAtColumn), Column{std::string(kDeletedAtColumn), FieldType::kTimestampTz},
                WriteColumn::Kind::kDeletedTime, false);
  }
  return plan;
}

}  // namespace sluice::pg
