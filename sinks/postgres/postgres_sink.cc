#include "sinks/postgres/postgres_sink.h"

#include <algorithm>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>

#include "core/logging.h"
#include "decode/logical_types.h"
#include "sinks/postgres/copy_writer.h"
#include "sinks/postgres/sqlstate.h"
#include "sinks/postgres/stale_guard.h"

namespace sluice::pg {
namespace {

constexpr std::string_view kOpColumn = "__sluice_op";
constexpr std::string_view kKeyColumn = "__sluice_key";  // staging only: the row key, for the deletes table
constexpr std::string_view kDeleted = "__deleted";
constexpr std::string_view kDeletedAt = "__deleted_at";
constexpr std::string_view kKafkaTopic = "__connect_topic";
constexpr std::string_view kKafkaPartition = "__connect_partition";
constexpr std::string_view kKafkaOffset = "__connect_offset";

bool is_delete(const ChangeEvent& event) { return event.tombstone || event.op == Op::kDelete; }

TableName target_of(const ChangeEvent& event) {
  if (!event.table.name.empty()) return event.table;
  std::string name = event.origin.topic;
  std::replace(name.begin(), name.end(), '.', '_');
  return TableName{"", name};
}

bool topic_matches(const std::string& pattern, const std::string& topic) {
  return pattern.empty() || pattern == "*" || pattern == topic;
}

// Whether field `name` of `topic` is written, per field.include.list / field.exclude.list.
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

// The bytes of hex text ("0a1b"), as encode(..., 'hex') writes them.
std::string hex_decoded(std::string_view hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(nibble(hex[i]) << 4 | nibble(hex[i + 1])));
  return out;
}

// A schemaless Connect Decimal (decimal.handling.mode = precise) arrives as a
// base64 string of the unscaled value, without its scale: the target column's
// numeric(p,s) supplies it. Text that already is a decimal literal (string
// mode) is kept as it is, so "1234" -- valid base64 too -- stays 1234.
bool schemaless_decimal(std::string_view text, int32_t scale, std::string& out) {
  std::string ignored;
  if (decimal_from_text(text, 0, ignored)) return false;
  std::string bytes;
  return !text.empty() && decode_base64(text, bytes) && !bytes.empty() && decimal_from_unscaled(bytes, scale, out);
}

// Types whose text may carry nanoseconds (NanoTime, NanoTimestamp, ZonedTimestamp, ...).
bool temporal_type(FieldType type) {
  return type == FieldType::kTime || type == FieldType::kTimeTz || type == FieldType::kTimestamp ||
         type == FieldType::kTimestampTz || type == FieldType::kInterval;
}

// PostgreSQL's time, timestamp and interval types (format_type spelling, with or
// without a precision), which keep at most microseconds and round the rest.
bool microsecond_column(std::string_view pg_type) {
  return pg_type.starts_with("time") || pg_type.starts_with("interval");
}

// A reason that is a SQLSTATE came from PostgreSQL; sluice's own row checks
// (precision_loss) carry a word.
bool is_sqlstate(std::string_view reason) {
  return reason.size() == 5 &&
         std::all_of(reason.begin(), reason.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'); });
}

bool binary_type(FieldType type) {
  return type == FieldType::kBytes || type == FieldType::kBits || type == FieldType::kGeometry;
}

std::string origin_text(const ChangeEvent& event) {
  return event.origin.topic + "[" + std::to_string(event.origin.partition.value) + "]@" +
         std::to_string(event.origin.offset.value);
}

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
    kPosition,  // the stale-event guard's source position
  } kind = Kind::kValue;
  bool key = false;
  const TableColumn* target = nullptr;
};

}  // namespace

// The state of one apply() call.
class PostgresSink::Apply {
 public:
  Apply(PostgresSink& sink, const Batch& batch) : sink_(sink), config_(sink.config_), batch_(batch) {}

  Result<ApplyStats> run(const BeforeCommit& before_commit);

 private:
  Connection& connection() { return *sink_.connection_; }
  Status exec(const std::string& sql) {
    auto result = connection().exec(sql);
    if (!result) return result.take_error();
    return {};
  }

  // The primary key columns of `event` under primary.key.mode; empty for none.
  std::vector<std::string> key_columns(const ChangeEvent& event) const;
  // The value of key column `name` in `event`, or nullptr.
  const Datum* key_value(const ChangeEvent& event, const std::string& name) const;
  // Whether every offset of the batch is already stored (its COMMIT succeeded).
  Result<bool> already_committed();
  // A reject for entries that cannot be applied whatever the table holds.
  std::optional<Reject> precheck(const ChangeEvent& event) const;

  // Applies `entries` under a savepoint; a record-level failure rolls back and
  // bisects until the offending entries are isolated as rejects.
  Status apply_isolating(std::span<const size_t> entries, int depth);
  // Applies `entries` (in order) without isolation.
  struct Tally {
    size_t applied = 0;
    size_t skipped = 0;
    size_t stale = 0;  // of skipped: older than what the row or its delete holds
  };
  Status apply_entries(std::span<const size_t> entries, Tally& tally);
  Status apply_table(const TableName& table, const std::vector<size_t>& entries, Tally& tally);

  PostgresSink& sink_;
  const SinkConfig& config_;
  const Batch& batch_;
  ApplyStats stats_;
};

std::vector<std::string> PostgresSink::Apply::key_columns(const ChangeEvent& event) const {
  switch (config_.primary_key_mode) {
    case PrimaryKeyMode::kNone: return {};
    case PrimaryKeyMode::kKafka:
      return {std::string(kKafkaTopic), std::string(kKafkaPartition), std::string(kKafkaOffset)};
    case PrimaryKeyMode::kRecordValue: return config_.primary_key_fields;
    case PrimaryKeyMode::kRecordKey: {
      if (!config_.primary_key_fields.empty()) return config_.primary_key_fields;
      std::vector<std::string> names;
      if (event.key && event.key->schema) {
        for (const Column& c : event.key->schema->columns) names.push_back(c.name);
      }
      return names;
    }
  }
  return {};
}

const Datum* PostgresSink::Apply::key_value(const ChangeEvent& event, const std::string& name) const {
  const Datum* value = nullptr;
  auto look = [&](const std::optional<Row>& row) {
    if (value == nullptr && row && row->schema) value = row->find(name);
  };
  if (config_.primary_key_mode == PrimaryKeyMode::kRecordKey) {
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

Result<bool> PostgresSink::Apply::already_committed() {
  std::vector<TopicPartition> partitions;
  for (const PartitionOffset& offset : batch_.offsets) partitions.push_back(offset.partition);
  auto stored = sink_.offsets_.load(connection(), sink_.offsets_.consumer_group(), partitions);
  if (!stored) return stored.take_error();
  for (const PartitionOffset& offset : batch_.offsets) {
    auto it = stored->find(offset.partition);
    if (it == stored->end() || it->second < offset.next) return false;
  }
  return true;
}

std::optional<Reject> PostgresSink::Apply::precheck(const ChangeEvent& event) const {
  auto reject = [&](std::string rule, std::string message) {
    return Reject{Stage::kSink, std::move(rule), target_of(event).display(), "", std::move(message)};
  };
  if (!is_delete(event) && !(event.after && event.after->schema)) {
    return reject("missing_after", "change event " + origin_text(event) + " has no row image to write");
  }
  if (config_.primary_key_mode == PrimaryKeyMode::kRecordKey ||
      config_.primary_key_mode == PrimaryKeyMode::kRecordValue) {
    std::vector<std::string> keys = key_columns(event);
    if (keys.empty()) {
      return reject("missing_key", "change event " + origin_text(event) + " has no primary key for " +
                                       target_of(event).display());
    }
    for (const std::string& name : keys) {
      const Datum* value = key_value(event, name);
      if (value == nullptr || value->null) {
        return reject("missing_key", "primary key column " + name + " of " + target_of(event).display() +
                                         " is missing or null in " + origin_text(event));
      }
    }
  }
  return std::nullopt;
}

Status PostgresSink::Apply::apply_isolating(std::span<const size_t> entries, int depth) {
  if (entries.empty()) return {};
  std::string savepoint = "sluice_sp_" + std::to_string(depth);
  if (Status s = exec("SAVEPOINT " + savepoint); !s) return s;
  Tally tally;
  Status status = apply_entries(entries, tally);
  if (status) {
    stats_.applied += tally.applied;
    stats_.skipped += tally.skipped;
    stats_.stale += tally.stale;
    return exec("RELEASE SAVEPOINT " + savepoint);
  }
  if (status.error().error_class != ErrorClass::kRecord) return status;
  // DDL of the failed attempt is gone too.
  sink_.catalog_.clear();
  if (Status s = exec("ROLLBACK TO SAVEPOINT " + savepoint); !s) return s;
  if (Status s = exec("RELEASE SAVEPOINT " + savepoint); !s) return s;
  if (entries.size() == 1) {
    const ChangeEvent& event = batch_.entries[entries[0]].event;
    const Error& error = status.error();
    std::string table = target_of(event).display();
    std::string verb = is_delete(event) ? "delete from " : "write into ";
    // Connection::check writes "<reason>: <PostgreSQL message> (in: <statement>)";
    // the reject keeps PostgreSQL's message only (the statement is internal).
    std::string reason = error.reason;
    std::string detail = error.message;
    if (is_sqlstate(error.reason)) {
      reason = sqlstate_reason(error.reason);
      if (detail.rfind(reason + ": ", 0) == 0) detail.erase(0, reason.size() + 2);
      if (size_t in = detail.rfind(" (in: "); in != std::string::npos) detail.erase(in);
    }
    stats_.rejects.push_back(SinkReject{
        entries[0], Reject{Stage::kSink, reason, table, "",
                           verb + table + " failed (" + reason + ") at " + origin_text(event) + ": " + detail}});
    return {};
  }
  size_t half = entries.size() / 2;
  if (Status s = apply_isolating(entries.subspan(0, half), depth + 1); !s) return s;
  return apply_isolating(entries.subspan(half), depth + 1);
}

Status PostgresSink::Apply::apply_entries(std::span<const size_t> entries, Tally& tally) {
  // Tables in order of first appearance; a truncate flushes what came before it.
  std::vector<std::pair<TableName, std::vector<size_t>>> groups;
  std::unordered_map<TableName, size_t> group_of;
  auto flush = [&]() -> Status {
    for (auto& [table, list] : groups) {
      if (Status s = apply_table(table, list, tally); !s) return s;
    }
    groups.clear();
    group_of.clear();
    return {};
  };
  for (size_t index : entries) {
    const ChangeEvent& event = batch_.entries[index].event;
    TableName table = target_of(event);
    if (event.op == Op::kTruncate) {
      if (Status s = flush(); !s) return s;
      auto schema = sink_.catalog_.find(table);
      if (!schema) return schema.take_error();
      if (schema->has_value()) {
        if (Status s = exec("TRUNCATE " + quoted_table(table)); !s) return s;
      }
      ++tally.applied;
      continue;
    }
    auto [it, inserted] = group_of.try_emplace(table, groups.size());
    if (inserted) groups.emplace_back(table, std::vector<size_t>{});
    groups[it->second].second.push_back(index);
  }
  return flush();
}

Status PostgresSink::Apply::apply_table(const TableName& table, const std::vector<size_t>& entries, Tally& tally) {
  const bool keyed = config_.primary_key_mode == PrimaryKeyMode::kRecordKey ||
                     config_.primary_key_mode == PrimaryKeyMode::kRecordValue;
  const bool soft = config_.delete_mode == DeleteMode::kSoft;

  // Columns: the key first, then every written field of the row images.
  std::vector<WriteColumn> columns;
  std::unordered_map<std::string, size_t> column_of;
  auto add_column = [&](const std::string& name, const Column& source, WriteColumn::Kind kind, bool key) {
    auto [it, inserted] = column_of.try_emplace(name, columns.size());
    if (inserted) {
      columns.push_back(WriteColumn{name, source, kind, key, nullptr});
    } else if (key) {
      columns[it->second].key = true;
    }
  };
  std::vector<std::string> primary_key;
  if (config_.primary_key_mode == PrimaryKeyMode::kKafka) {
    Column topic{std::string(kKafkaTopic), FieldType::kString, false};
    Column partition{std::string(kKafkaPartition), FieldType::kInt32, false};
    Column offset{std::string(kKafkaOffset), FieldType::kInt64, false};
    add_column(topic.name, topic, WriteColumn::Kind::kTopicMeta, true);
    add_column(partition.name, partition, WriteColumn::Kind::kPartitionMeta, true);
    add_column(offset.name, offset, WriteColumn::Kind::kOffsetMeta, true);
    primary_key = {topic.name, partition.name, offset.name};
  }

  // The stale-event guard needs a key to remember positions by.
  const bool guarded = keyed && config_.stale_guard;
  // The last event per key wins (with the guard: the newest by source
  // position); deletes disabled or without a key are skipped.
  std::vector<size_t> plan;
  std::vector<std::string> plan_key;       // row key of each plan entry (guarded only)
  std::vector<std::string> plan_position;  // encoded source position (guarded only)
  std::vector<size_t> plan_folded;         // events the plan entry stands for (guarded only)
  // delete.mode = soft: a delete after a write of the same batch keeps that
  // write's values and marks the row deleted (an UPDATE would find no row).
  std::vector<char> plan_soft_deleted;
  std::unordered_map<std::string, size_t> slot_of_key;
  for (size_t index : entries) {
    const ChangeEvent& event = batch_.entries[index].event;
    bool remove = is_delete(event);
    if (remove && (!config_.delete_enabled || !keyed)) {
      ++tally.skipped;
      continue;
    }
    ++tally.applied;
    if (keyed) {
      std::vector<std::string> keys = key_columns(event);
      if (primary_key.empty()) primary_key = keys;
      std::string identity;
      for (const std::string& name : keys) {
        const Datum* value = key_value(event, name);
        const Column* source = nullptr;
        for (const auto* row : {&event.key, &event.after, &event.before}) {
          if (source == nullptr && *row && (*row)->schema) source = (*row)->column(name);
        }
        add_column(name, source ? *source : Column{name}, WriteColumn::Kind::kValue, true);
        identity += std::to_string(value->text.size()) + ":" + value->text + "|";
      }
      std::string position = guarded ? encode_position(event) : std::string();
      auto [it, inserted] = slot_of_key.try_emplace(identity, plan.size());
      if (inserted) {
        plan.push_back(index);
        plan_soft_deleted.push_back(0);
        if (guarded) {
          plan_key.push_back(identity);
          plan_position.push_back(std::move(position));
          plan_folded.push_back(1);
        }
      } else if (guarded && event.tombstone && is_delete(batch_.entries[plan[it->second]].event)) {
        // The tombstone after a delete: the delete already removes the row and
        // carries the source position to remember it by.
        ++plan_folded[it->second];
      } else if (guarded && position_before(position, plan_position[it->second])) {
        // Older than an event of this batch for the same row.
        --tally.applied;
        ++tally.skipped;
        ++tally.stale;
        continue;
      } else {
        size_t slot = it->second;
        if (soft && remove && !is_delete(batch_.entries[plan[slot]].event)) {
          plan_soft_deleted[slot] = 1;
          if (guarded && !event.tombstone) plan_position[slot] = std::move(position);
        } else {
          plan[slot] = index;
          plan_soft_deleted[slot] = 0;
          if (guarded) plan_position[slot] = std::move(position);
        }
        if (guarded) ++plan_folded[slot];
      }
    } else {
      plan.push_back(index);
      plan_soft_deleted.push_back(0);
    }
    if (!remove) {
      for (const Column& column : event.after->schema->columns) {
        if (field_wanted(config_, event.origin.topic, column.name)) {
          add_column(column.name, column, WriteColumn::Kind::kValue, false);
        }
      }
    }
  }
  if (plan.empty()) return {};
  if (guarded) {
    add_column(config_.stale_guard_column, Column{config_.stale_guard_column, FieldType::kBytes},
               WriteColumn::Kind::kPosition, false);
  }
  if (soft) {
    add_column(std::string(kDeleted), Column{std::string(kDeleted), FieldType::kBoolean},
               WriteColumn::Kind::kDeletedFlag, false);
    add_column(std::string(kDeletedAt), Column{std::string(kDeletedAt), FieldType::kTimestampTz},
               WriteColumn::Kind::kDeletedTime, false);
  }

  // Target schema: evolve it, or take it as it is.
  TableSchema schema;
  if (config_.schema_evolution == SchemaEvolution::kBasic) {
    std::vector<DesiredColumn> desired;
    for (const WriteColumn& c : columns) desired.push_back(DesiredColumn{c.name, pg_type_for(c.source), !c.source.inferred,
                                      c.source.type == FieldType::kString ? c.source.precision : -1});
    auto evolved = sink_.catalog_.evolve(table, desired, primary_key);
    if (!evolved) return evolved.take_error();
    schema = std::move(*evolved);
  } else {
    auto found = sink_.catalog_.find(table);
    if (!found) return found.take_error();
    if (!found->has_value()) {
      return Error::fatal("table_missing", "table " + table.display() +
                                               " does not exist and schema.evolution is none");
    }
    schema = std::move(**found);
  }
  std::vector<WriteColumn> written;
  for (WriteColumn& c : columns) {
    c.target = schema.find(c.name);
    if (c.target != nullptr) {
      written.push_back(c);
    } else if (c.key) {
      return Error::fatal("key_column_missing", "primary key column " + c.name + " is missing from table " +
                                                    table.display());
    } else if (c.kind == WriteColumn::Kind::kPosition) {
      return Error::fatal("stale_guard_column_missing",
                          "table " + table.display() + " has no column " + c.name +
                              ", which stale.guard.enabled = true needs and schema.evolution = none does not add: "
                              "ALTER TABLE " + quoted_table(table) + " ADD COLUMN " + quote_identifier(c.name) +
                              " bytea, or set stale.guard.enabled = false");
    }
  }
  std::vector<const WriteColumn*> keys, values;
  for (const WriteColumn& c : written) (c.key ? keys : values).push_back(&c);

  // Stage the rows by COPY, typed like the target.
  std::string staging = quote_identifier("sluice_stage_" + std::to_string(++sink_.staging_counter_));
  std::string target = quoted_table(table);
  std::string column_list;
  for (const WriteColumn& c : written) {
    if (!column_list.empty()) column_list += ", ";
    column_list += quote_identifier(c.name);
  }
  // Staging-only leading columns: the op, and with the guard the row key.
  std::string staging_meta = quote_identifier(kOpColumn);
  if (guarded) staging_meta += ", " + quote_identifier(kKeyColumn);
  if (Status s = exec("CREATE TEMP TABLE " + staging + " ON COMMIT DROP AS SELECT ''::text AS " +
                      quote_identifier(kOpColumn) + (guarded ? ", ''::bytea AS " + quote_identifier(kKeyColumn) : "") +
                      ", " + column_list + " FROM " + target + " WITH NO DATA");
      !s) {
    return s;
  }
  CopyWriter writer;
  bool any_upsert = false, any_delete = false;
  for (size_t slot = 0; slot < plan.size(); ++slot) {
    const ChangeEvent& event = batch_.entries[plan[slot]].event;
    bool remove = is_delete(event);
    (remove ? any_delete : any_upsert) = true;
    writer.text(remove ? "d" : "u");
    if (guarded) writer.bytes(plan_key[slot]);
    for (const WriteColumn& c : written) {
      switch (c.kind) {
        case WriteColumn::Kind::kPosition: writer.bytes(plan_position[slot]); continue;
        case WriteColumn::Kind::kTopicMeta: writer.text(event.origin.topic); continue;
        case WriteColumn::Kind::kPartitionMeta: writer.text(std::to_string(event.origin.partition.value)); continue;
        case WriteColumn::Kind::kOffsetMeta: writer.text(std::to_string(event.origin.offset.value)); continue;
        case WriteColumn::Kind::kDeletedFlag: writer.text(plan_soft_deleted[slot] ? "true" : "false"); continue;
        case WriteColumn::Kind::kDeletedTime:
          // 'now' is PostgreSQL's input for the transaction's start time.
          if (plan_soft_deleted[slot]) {
            writer.text("now");
          } else {
            writer.null();
          }
          continue;
        case WriteColumn::Kind::kValue: break;
      }
      const Datum* value = nullptr;
      const Column* source = nullptr;
      if (c.key) {
        value = key_value(event, c.name);
      } else if (!remove && event.after) {
        value = event.after->find(c.name);
        source = event.after->column(c.name);
      }
      if (value == nullptr || value->null) {
        writer.null();
        continue;
      }
      FieldType type = source ? source->type : c.source.type;
      if (temporal_type(type) && microsecond_column(c.target->type) && has_sub_microsecond_digits(value->text)) {
        if (config_.nanos_handling == NanosHandling::kTruncate) {
          writer.text(truncated_to_microseconds(value->text));
          continue;
        }
        // A record error: apply_isolating narrows it down to this event, which
        // goes to the dead-letter topic while the rest of the batch commits.
        return Error::record("precision_loss",
                             "field '" + std::string(c.key ? "key." : "after.") + c.name + "' value '" + value->text +
                                 "' has digits below the microsecond, which " + c.target->type +
                                 " would round away (time.nanos.handling.mode = reject; truncate keeps six digits)");
      }
      if (binary_type(type) && c.target->bytea) {
        writer.bytes(value->text);  // geometry: EWKB when it has an SRID, ready for ST_GeomFromEWKB
      } else if (type == FieldType::kGeometry && c.target->geometry) {
        writer.hex(value->text);  // PostGIS reads hex EWKB, SRID included
      } else if (type == FieldType::kArray && c.target->array) {
        // Malformed arrays go through as they are; PostgreSQL refuses the row.
        std::optional<std::string> literal = pg_array_literal_from_json(value->text);
        writer.text(literal ? *literal : value->text);
      } else if (std::string decimal; type == FieldType::kString && source != nullptr && source->inferred &&
                                      c.target->numeric_scale &&
                                      schemaless_decimal(value->text, *c.target->numeric_scale, decimal)) {
        writer.text(decimal);
      } else {
        writer.text(value->text);
      }
    }
    writer.end_row();
  }
  if (Status s = connection().copy_in("COPY " + staging + " (" + staging_meta + ", " + column_list + ") FROM STDIN",
                                      writer.data());
      !s) {
    return s;
  }

  auto match = [&]() {
    std::string where;
    for (const WriteColumn* k : keys) {
      if (!where.empty()) where += " AND ";
      where += "t." + quote_identifier(k->name) + " = s." + quote_identifier(k->name);
    }
    return where;
  };
  std::string op = "s." + quote_identifier(kOpColumn);

  // The stale-event guard: drop staged events older than the row they would
  // write or the delete that removed it, then keep positions current.
  std::string position = quote_identifier(config_.stale_guard_column);
  std::string not_stale;  // condition on t (target) and s (staging) rows
  std::string table_literal;
  bool deletes_known = false;
  if (guarded) {
    table_literal = connection().quote_literal(table.display());
    not_stale = " AND NOT coalesce(" + StaleGuard::newer_sql("t." + position, "s." + position) + ", false)";
    // A staged event that is stale makes the events folded into it stale too
    // (they were older still): count them all.
    size_t stale_rows = 0;
    auto count_stale = [&](const PGresult* removed) {
      for (int r = 0; r < PQntuples(removed); ++r) {
        std::string key = hex_decoded(PQgetvalue(removed, r, 0));
        auto slot = slot_of_key.find(key);
        stale_rows += slot != slot_of_key.end() ? plan_folded[slot->second] : 1;
      }
    };
    std::string returning = " RETURNING encode(s." + quote_identifier(kKeyColumn) + ", 'hex')";
    auto stale = connection().exec("DELETE FROM " + staging + " AS s USING " + target + " AS t WHERE " + match() +
                                   " AND " + StaleGuard::newer_sql("t." + position, "s." + position) + returning);
    if (!stale) return stale.take_error();
    count_stale(stale->get());
    auto known = connection().exec("SELECT EXISTS (SELECT 1 FROM " + sink_.guard_.deletes_table() +
                                   " WHERE table_name = " + table_literal + ")");
    if (!known) return known.take_error();
    deletes_known = std::string_view(PQgetvalue(known->get(), 0, 0)) == "t";
    if (deletes_known) {
      auto deleted = connection().exec("DELETE FROM " + staging + " AS s USING " + sink_.guard_.deletes_table() +
                                       " AS d WHERE d.table_name = " + table_literal + " AND d.row_key = s." +
                                       quote_identifier(kKeyColumn) + " AND " +
                                       StaleGuard::newer_sql("d.position", "s." + position) + returning);
      if (!deleted) return deleted.take_error();
      count_stale(deleted->get());
    }
    tally.applied -= std::min(tally.applied, stale_rows);
    tally.skipped += stale_rows;
    tally.stale += stale_rows;
  }

  if (any_upsert) {
    std::string sql;
    if (config_.insert_mode == InsertMode::kUpdate && !keys.empty()) {
      if (!values.empty()) {
        sql = "UPDATE " + target + " AS t SET ";
        for (size_t i = 0; i < values.size(); ++i) {
          if (i > 0) sql += ", ";
          sql += quote_identifier(values[i]->name) + " = s." + quote_identifier(values[i]->name);
        }
        sql += " FROM " + staging + " AS s WHERE " + op + " = 'u' AND " + match() + not_stale;
      }
    } else {
      sql = "INSERT INTO " + target + " AS t (" + column_list + ") SELECT " + column_list + " FROM " + staging +
            " AS s WHERE " + op + " = 'u'";
      if (config_.insert_mode == InsertMode::kUpsert && !keys.empty()) {
        sql += " ON CONFLICT (";
        for (size_t i = 0; i < keys.size(); ++i) sql += (i > 0 ? ", " : "") + quote_identifier(keys[i]->name);
        sql += ")";
        if (values.empty()) {
          sql += " DO NOTHING";
        } else {
          sql += " DO UPDATE SET ";
          for (size_t i = 0; i < values.size(); ++i) {
            if (i > 0) sql += ", ";
            sql += quote_identifier(values[i]->name) + " = EXCLUDED." + quote_identifier(values[i]->name);
          }
          if (guarded) {
            sql += " WHERE NOT coalesce(" + StaleGuard::newer_sql("t." + position, "EXCLUDED." + position) +
                   ", false)";
          }
        }
      }
    }
    if (!sql.empty()) {
      if (Status s = exec(sql); !s) return s;
    }
    // Rows written again forget their earlier deletion.
    if (deletes_known && config_.insert_mode != InsertMode::kUpdate) {
      if (Status s = exec("DELETE FROM " + sink_.guard_.deletes_table() + " AS d USING " + staging +
                          " AS s WHERE " + op + " = 'u' AND d.table_name = " + table_literal + " AND d.row_key = s." +
                          quote_identifier(kKeyColumn));
          !s) {
        return s;
      }
    }
  }
  if (any_delete && !keys.empty()) {
    std::string sql;
    if (soft) {
      sql = "UPDATE " + target + " AS t SET " + quote_identifier(kDeleted) + " = true, " +
            quote_identifier(kDeletedAt) + " = now()" + (guarded ? ", " + position + " = s." + position : "") +
            " FROM " + staging + " AS s WHERE " + op + " = 'd' AND " + match() + not_stale;
    } else {
      sql = "DELETE FROM " + target + " AS t USING " + staging + " AS s WHERE " + op + " = 'd' AND " + match() +
            not_stale;
    }
    if (Status s = exec(sql); !s) return s;
    if (guarded) {
      // Remember where each row was deleted, so older events cannot bring it
      // back. Tombstones follow their delete event and carry no source
      // position, so they leave what the delete recorded alone.
      std::string deletes = sink_.guard_.deletes_table();
      std::string remember = "INSERT INTO " + deletes + " AS d (table_name, row_key, position) SELECT " +
                             table_literal + ", s." + quote_identifier(kKeyColumn) + ", s." + position + " FROM " +
                             staging + " AS s WHERE " + op + " = 'd' AND get_byte(s." + position + ", 0) <> " +
                             std::to_string(static_cast<int>(PositionKind::kKafkaOffset)) +
                             " ON CONFLICT (table_name, row_key) DO UPDATE SET position = EXCLUDED.position, "
                             "deleted_at = now() WHERE " +
                             StaleGuard::newer_sql("EXCLUDED.position", "d.position") + " OR substring(d.position from 1 for " +
                             std::to_string(kPositionPrefixBytes) + ") <> substring(EXCLUDED.position from 1 for " +
                             std::to_string(kPositionPrefixBytes) + ")";
      if (Status s = exec(remember); !s) return s;
    }
  }
  return exec("DROP TABLE " + staging);
}

Result<ApplyStats> PostgresSink::Apply::run(const BeforeCommit& before_commit) {
  if (Status s = exec("BEGIN"); !s) return s.take_error();
  if (sink_.commit_in_doubt_ && !batch_.offsets.empty()) {
    auto committed = already_committed();
    if (!committed) return committed.take_error();
    if (*committed) {
      sink_.commit_in_doubt_ = false;
      if (Status s = exec("ROLLBACK"); !s) return s.take_error();
      stats_.skipped = batch_.entries.size();
      return std::move(stats_);
    }
  }
  std::vector<size_t> work;
  for (size_t i = 0; i < batch_.entries.size(); ++i) {
    const ChangeEvent& event = batch_.entries[i].event;
    if (event.op == Op::kMessage || (event.op == Op::kTruncate && !config_.truncate_enabled)) {
      ++stats_.skipped;
      continue;
    }
    if (event.op != Op::kTruncate) {
      if (std::optional<Reject> reject = precheck(event)) {
        stats_.rejects.push_back(SinkReject{i, std::move(*reject)});
        continue;
      }
    }
    work.push_back(i);
  }
  auto fail = [&](Error error) -> Result<ApplyStats> {
    sink_.catalog_.clear();
    if (connection().healthy()) {
      (void)connection().exec("ROLLBACK");
    }
    return error;
  };
  if (Status s = apply_isolating(work, 0); !s) return fail(s.take_error());
  if (Status s = sink_.offsets_.store(connection(), batch_.offsets); !s) return fail(s.take_error());
  std::sort(stats_.rejects.begin(), stats_.rejects.end(),
            [](const SinkReject& a, const SinkReject& b) { return a.entry_index < b.entry_index; });
  if (before_commit) {
    if (Status s = before_commit(stats_.rejects); !s) return fail(s.take_error());
  }
  if (Status s = exec("COMMIT"); !s) {
    if (s.error().error_class == ErrorClass::kTransient) sink_.commit_in_doubt_ = true;
    return fail(s.take_error());
  }
  sink_.commit_in_doubt_ = false;
  return std::move(stats_);
}

PostgresSink::PostgresSink(ConnectionConfig connection, SinkConfig sink, std::string consumer_group)
    : connection_config_(std::move(connection)),
      config_(std::move(sink)),
      offsets_(config_.offsets_table, std::move(consumer_group)),
      guard_(config_.stale_guard_column, config_.stale_guard_table) {}

Result<std::unique_ptr<PostgresSink>> PostgresSink::open(const ConnectionConfig& connection, const SinkConfig& sink,
                                                         std::string consumer_group) {
  std::unique_ptr<PostgresSink> out(new PostgresSink(connection, sink, std::move(consumer_group)));
  if (Status s = out->ensure_connected(); !s) return s.take_error();
  return out;
}

Status PostgresSink::ensure_connected() {
  if (connection_ && connection_->healthy()) return {};
  if (connection_) logging::get("postgres")->warn("PostgreSQL connection lost; reconnecting");
  catalog_.set_connection(nullptr);
  connection_.reset();
  auto opened = Connection::open(connection_config_);
  if (!opened) return opened.take_error();
  connection_ = std::move(*opened);
  catalog_.set_connection(connection_.get());
  if (Status s = offsets_.ensure_table(*connection_); !s) return s;
  if (config_.stale_guard) return guard_.ensure_table(*connection_);
  return {};
}

Result<ApplyStats> PostgresSink::apply(const Batch& batch, const BeforeCommit& before_commit) {
  if (Status s = ensure_connected(); !s) return s.take_error();
  return Apply(*this, batch).run(before_commit);
}

Result<std::map<TopicPartition, Offset>> PostgresSink::load_offsets(const std::string& group,
                                                                    const std::vector<TopicPartition>& partitions) {
  if (Status s = ensure_connected(); !s) return s.take_error();
  return offsets_.load(*connection_, group, partitions);
}

}  // namespace sluice::pg
