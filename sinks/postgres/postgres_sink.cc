#include "sinks/postgres/postgres_sink.h"

#include <algorithm>
#include <map>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>

#include "core/logging.h"
#include "decode/logical_types.h"
#include "sinks/postgres/copy_writer.h"
#include "sinks/postgres/history_plan.h"
#include "sinks/postgres/history_writer.h"
#include "sinks/postgres/sqlstate.h"
#include "sinks/postgres/stale_guard.h"
#include "sinks/postgres/table_plan.h"

namespace sluice::pg {
namespace {

constexpr std::string_view kOpColumn = "__sluice_op";
constexpr std::string_view kKeyColumn = "__sluice_key";  // staging only: the row key, for the deletes table

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

bool binary_type(FieldType type) {
  return type == FieldType::kBytes || type == FieldType::kBits || type == FieldType::kGeometry;
}

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
  // Applies the entries of one table: plan, stage by COPY, drop stale rows,
  // then write set-wise (history and changelog tables: history_writer.h).
  Status apply_table(const TableTarget& target, std::span<const size_t> entries, Tally& tally);
  // Applies the truncate `entry` to one of its tables.
  Status apply_truncate(const TableTarget& target, size_t entry, Tally& tally);

  // The statements of one table's apply, once its plan meets the target schema.
  struct TableWrite {
    std::string target;                // the table, quoted
    std::string staging;               // the staging table, quoted
    std::vector<WriteColumn> written;  // planned columns the target has
    std::vector<const WriteColumn*> keys, values;
    std::string column_list;    // of written, quoted
    std::string position;       // the guard's column, quoted; empty without the guard
    std::string table_literal;  // the table's display name as a literal (guarded only)
    bool any_upsert = false;
    bool any_delete = false;
    bool deletes_known = false;  // the deletes table holds rows of this table

    // "t.k = s.k AND ..." over the key columns.
    std::string key_match() const;
    // With the guard, " AND NOT <target row t newer than staged row s>"; else empty.
    std::string not_stale() const;
  };
  // The target's schema: evolved to hold the plan's columns, or as it is.
  Result<TableSchema> target_schema(const TableName& table, const TablePlan& plan);
  // Fills `write` with the planned columns `schema` has; fatal when a key
  // column or the guard's column is missing.
  Status resolve(const TableName& table, const TablePlan& plan, const TableSchema& schema, TableWrite& write);
  // Creates the staging table and COPYs the planned rows into it.
  Status stage(const TablePlan& plan, TableWrite& write);
  // `image`: the row image values come from (nullptr: none), for non-key columns.
  void write_value(CopyWriter& writer, const WriteColumn& column, const ChangeEvent& event, const Row* image) const;
  // The stale-event guard: drops staged rows older than the row they would
  // write or the delete that removed it, and counts their events as stale.
  Status drop_stale(const TablePlan& plan, TableWrite& write, Tally& tally);
  Status write_upserts(const TableWrite& write);
  Status write_deletes(const TableWrite& write);

  PostgresSink& sink_;
  const SinkConfig& config_;
  const Batch& batch_;
  ApplyStats stats_;
};

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
    std::vector<std::string> keys = key_columns(config_, event);
    if (keys.empty()) {
      return reject("missing_key", "change event " + origin_text(event) + " has no primary key for " +
                                       target_of(event).display());
    }
    for (const std::string& name : keys) {
      const Datum* value = key_value(config_, event, name);
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
    std::string reason = sqlstate_reason(error.reason);
    std::string detail = error.message;
    if (detail.rfind(reason + ": ", 0) == 0) detail.erase(0, reason.size() + 2);
    if (size_t in = detail.rfind(" (in: "); in != std::string::npos) detail.erase(in);
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
  std::vector<std::pair<TableTarget, std::vector<size_t>>> groups;
  std::map<TableTarget, size_t> group_of;
  // Writes into the extra history and changelog tables stand for no event of their own.
  Tally uncounted;
  auto flush = [&]() -> Status {
    for (auto& [target, list] : groups) {
      if (Status s = apply_table(target, list, target.counted ? tally : uncounted); !s) return s;
    }
    groups.clear();
    group_of.clear();
    return {};
  };
  std::vector<TableTarget> targets;
  for (size_t index : entries) {
    const ChangeEvent& event = batch_.entries[index].event;
    if (Status s = sink_.routes_.targets_of(event, targets); !s) return s;
    if (event.op == Op::kTruncate) {
      if (Status s = flush(); !s) return s;
      for (const TableTarget& target : targets) {
        if (Status s = apply_truncate(target, index, target.counted ? tally : uncounted); !s) return s;
      }
      continue;
    }
    for (const TableTarget& target : targets) {
      auto [it, inserted] = group_of.try_emplace(target, groups.size());
      if (inserted) groups.emplace_back(target, std::vector<size_t>{});
      groups[it->second].second.push_back(index);
    }
  }
  return flush();
}

Status PostgresSink::Apply::apply_truncate(const TableTarget& target, size_t entry, Tally& tally) {
  if (target.mode == TableMode::kChangelog) return apply_table(target, std::span<const size_t>(&entry, 1), tally);
  ++tally.applied;
  auto schema = sink_.catalog_.find(target.table);
  if (!schema) return schema.take_error();
  if (!schema->has_value()) return {};
  if (target.mode == TableMode::kHistory) {
    return HistoryWriter(connection(), config_.stale_guard_column)
        .truncate(target.table, **schema, batch_.entries[entry].event,
                  "sluice_truncated_" + std::to_string(++sink_.staging_counter_));
  }
  return exec("TRUNCATE " + quoted_table(target.table));
}

Result<TableSchema> PostgresSink::Apply::target_schema(const TableName& table, const TablePlan& plan) {
  if (config_.schema_evolution == SchemaEvolution::kBasic) {
    std::vector<DesiredColumn> desired;
    for (const WriteColumn& c : plan.columns) {
      desired.push_back(DesiredColumn{c.name, pg_type_for(c.source), !c.source.inferred,
                                      c.source.type == FieldType::kString ? c.source.precision : -1});
    }
    return sink_.catalog_.evolve(table, desired, plan.primary_key);
  }
  auto found = sink_.catalog_.find(table);
  if (!found) return found.take_error();
  if (!found->has_value()) {
    return Error::fatal("table_missing", "table " + table.display() + " does not exist and schema.evolution is none");
  }
  return std::move(**found);
}

Status PostgresSink::Apply::resolve(const TableName& table, const TablePlan& plan, const TableSchema& schema,
                                    TableWrite& write) {
  write.target = quoted_table(table);
  for (const WriteColumn& planned : plan.columns) {
    WriteColumn c = planned;
    c.target = schema.find(c.name);
    if (c.target != nullptr) {
      if (!write.column_list.empty()) write.column_list += ", ";
      write.column_list += quote_identifier(c.name);
      write.written.push_back(std::move(c));
    } else if (c.key) {
      return Error::fatal("key_column_missing",
                          "primary key column " + c.name + " is missing from table " + table.display());
    } else if (c.kind == WriteColumn::Kind::kPosition) {
      return Error::fatal("stale_guard_column_missing",
                          "table " + table.display() + " has no column " + c.name +
                              ", which stale.guard.enabled = true needs and schema.evolution = none does not add: "
                              "ALTER TABLE " + write.target + " ADD COLUMN " + quote_identifier(c.name) +
                              " bytea, or set stale.guard.enabled = false");
    }
  }
  for (const WriteColumn& c : write.written) (c.key ? write.keys : write.values).push_back(&c);
  if (plan.guarded) {
    write.position = quote_identifier(config_.stale_guard_column);
    write.table_literal = connection().quote_literal(table.display());
  }
  return {};
}

void PostgresSink::Apply::write_value(CopyWriter& writer, const WriteColumn& c, const ChangeEvent& event,
                                      const Row* image) const {
  const Datum* value = nullptr;
  const Column* source = nullptr;
  if (c.key) {
    value = key_value(config_, event, c.name);
  } else if (image != nullptr) {
    value = image->find(c.name);
    source = image->column(c.name);
  }
  if (value == nullptr || value->null) {
    writer.null();
    return;
  }
  FieldType type = source ? source->type : c.source.type;
  if (binary_type(type) && c.target->bytea) {
    writer.bytes(value->text);
  } else if (type == FieldType::kArray && c.target->array) {
    // Malformed arrays go through as they are; PostgreSQL refuses the row.
    std::optional<std::string> literal = pg_array_literal_from_json(value->text);
    writer.text(literal ? *literal : value->text);
  } else if (std::string decimal; type == FieldType::kString && source != nullptr && source->inferred &&
                                  c.target->numeric_scale >= 0 &&
                                  schemaless_decimal(value->text, c.target->numeric_scale, decimal)) {
    writer.text(decimal);
  } else {
    writer.text(value->text);
  }
}

Status PostgresSink::Apply::stage(const TablePlan& plan, TableWrite& write) {
  write.staging = quote_identifier("sluice_stage_" + std::to_string(++sink_.staging_counter_));
  // Staging-only leading columns: the op, and with the guard the row key.
  std::string meta = quote_identifier(kOpColumn);
  std::string meta_types = "''::text AS " + quote_identifier(kOpColumn);
  if (plan.guarded) {
    meta += ", " + quote_identifier(kKeyColumn);
    meta_types += ", ''::bytea AS " + quote_identifier(kKeyColumn);
  }
  if (Status s = exec("CREATE TEMP TABLE " + write.staging + " ON COMMIT DROP AS SELECT " + meta_types + ", " +
                      write.column_list + " FROM " + write.target + " WITH NO DATA");
      !s) {
    return s;
  }
  CopyWriter writer;
  for (const PlannedRow& row : plan.rows) {
    const ChangeEvent& event = batch_.entries[row.entry].event;
    const bool remove = is_delete(event);
    (remove ? write.any_delete : write.any_upsert) = true;
    const Row* image = nullptr;  // where non-key values come from
    if (row.before_image ? event.before.has_value() : !remove && event.after.has_value()) {
      image = row.before_image ? &*event.before : &*event.after;
    }
    writer.text(remove ? "d" : "u");
    if (plan.guarded) writer.bytes(row.key);
    for (const WriteColumn& c : write.written) {
      switch (c.kind) {
        case WriteColumn::Kind::kPosition: writer.bytes(row.position); break;
        case WriteColumn::Kind::kTopicMeta: writer.text(event.origin.topic); break;
        case WriteColumn::Kind::kPartitionMeta: writer.text(std::to_string(event.origin.partition.value)); break;
        case WriteColumn::Kind::kOffsetMeta: writer.text(std::to_string(event.origin.offset.value)); break;
        case WriteColumn::Kind::kDeletedFlag: writer.text(row.soft_deleted ? "true" : "false"); break;
        case WriteColumn::Kind::kDeletedTime:
          // 'now' is PostgreSQL's input for the transaction's start time.
          if (row.soft_deleted) {
            writer.text("now");
          } else {
            writer.null();
          }
          break;
        case WriteColumn::Kind::kOpLetter: writer.text(to_string(event.op)); break;
        case WriteColumn::Kind::kSourceTime: writer.text(timestamp_text(event_time_ms(event))); break;
        case WriteColumn::Kind::kValidTo: writer.null(); break;
        case WriteColumn::Kind::kIsCurrent: writer.text("false"); break;
        case WriteColumn::Kind::kValue: write_value(writer, c, event, image); break;
      }
    }
    writer.end_row();
  }
  return connection().copy_in("COPY " + write.staging + " (" + meta + ", " + write.column_list + ") FROM STDIN",
                              writer.data());
}

std::string PostgresSink::Apply::TableWrite::key_match() const {
  std::string where;
  for (const WriteColumn* k : keys) {
    if (!where.empty()) where += " AND ";
    where += "t." + quote_identifier(k->name) + " = s." + quote_identifier(k->name);
  }
  return where;
}

std::string PostgresSink::Apply::TableWrite::not_stale() const {
  if (position.empty()) return "";
  return " AND NOT coalesce(" + StaleGuard::newer_sql("t." + position, "s." + position) + ", false)";
}

Status PostgresSink::Apply::drop_stale(const TablePlan& plan, TableWrite& write, Tally& tally) {
  // A staged event that is stale makes the events folded into it stale too
  // (they were older still): count them all.
  size_t stale_rows = 0;
  auto count_stale = [&](const PGresult* removed) {
    for (int r = 0; r < PQntuples(removed); ++r) stale_rows += plan.events_of(hex_decoded(PQgetvalue(removed, r, 0)));
  };
  const std::string& position = write.position;
  std::string returning = " RETURNING encode(s." + quote_identifier(kKeyColumn) + ", 'hex')";
  auto stale = connection().exec("DELETE FROM " + write.staging + " AS s USING " + write.target + " AS t WHERE " +
                                 write.key_match() + " AND " +
                                 StaleGuard::newer_sql("t." + position, "s." + position) + returning);
  if (!stale) return stale.take_error();
  count_stale(stale->get());
  auto known = connection().exec("SELECT EXISTS (SELECT 1 FROM " + sink_.guard_.deletes_table() +
                                 " WHERE table_name = " + write.table_literal + ")");
  if (!known) return known.take_error();
  write.deletes_known = std::string_view(PQgetvalue(known->get(), 0, 0)) == "t";
  if (write.deletes_known) {
    auto deleted = connection().exec("DELETE FROM " + write.staging + " AS s USING " + sink_.guard_.deletes_table() +
                                     " AS d WHERE d.table_name = " + write.table_literal + " AND d.row_key = s." +
                                     quote_identifier(kKeyColumn) + " AND " +
                                     StaleGuard::newer_sql("d.position", "s." + position) + returning);
    if (!deleted) return deleted.take_error();
    count_stale(deleted->get());
  }
  tally.applied -= std::min(tally.applied, stale_rows);
  tally.skipped += stale_rows;
  tally.stale += stale_rows;
  return {};
}

Status PostgresSink::Apply::write_upserts(const TableWrite& write) {
  const std::string op = "s." + quote_identifier(kOpColumn);
  const std::string& position = write.position;
  std::string sql;
  if (config_.insert_mode == InsertMode::kUpdate && !write.keys.empty()) {
    if (!write.values.empty()) {
      sql = "UPDATE " + write.target + " AS t SET ";
      for (size_t i = 0; i < write.values.size(); ++i) {
        if (i > 0) sql += ", ";
        sql += quote_identifier(write.values[i]->name) + " = s." + quote_identifier(write.values[i]->name);
      }
      sql += " FROM " + write.staging + " AS s WHERE " + op + " = 'u' AND " + write.key_match() + write.not_stale();
    }
  } else {
    sql = "INSERT INTO " + write.target + " AS t (" + write.column_list + ") SELECT " + write.column_list + " FROM " +
          write.staging + " AS s WHERE " + op + " = 'u'";
    if (config_.insert_mode == InsertMode::kUpsert && !write.keys.empty()) {
      sql += " ON CONFLICT (";
      for (size_t i = 0; i < write.keys.size(); ++i) {
        sql += (i > 0 ? ", " : "") + quote_identifier(write.keys[i]->name);
      }
      sql += ")";
      if (write.values.empty()) {
        sql += " DO NOTHING";
      } else {
        sql += " DO UPDATE SET ";
        for (size_t i = 0; i < write.values.size(); ++i) {
          if (i > 0) sql += ", ";
          sql += quote_identifier(write.values[i]->name) + " = EXCLUDED." + quote_identifier(write.values[i]->name);
        }
        if (!position.empty()) {
          sql += " WHERE NOT coalesce(" + StaleGuard::newer_sql("t." + position, "EXCLUDED." + position) + ", false)";
        }
      }
    }
  }
  if (!sql.empty()) {
    if (Status s = exec(sql); !s) return s;
  }
  // Rows written again forget their earlier deletion.
  if (write.deletes_known && config_.insert_mode != InsertMode::kUpdate) {
    return exec("DELETE FROM " + sink_.guard_.deletes_table() + " AS d USING " + write.staging + " AS s WHERE " + op +
                " = 'u' AND d.table_name = " + write.table_literal + " AND d.row_key = s." +
                quote_identifier(kKeyColumn));
  }
  return {};
}

Status PostgresSink::Apply::write_deletes(const TableWrite& write) {
  const std::string op = "s." + quote_identifier(kOpColumn);
  const std::string& position = write.position;
  std::string sql;
  if (config_.delete_mode == DeleteMode::kSoft) {
    sql = "UPDATE " + write.target + " AS t SET " + quote_identifier(kDeletedColumn) + " = true, " +
          quote_identifier(kDeletedAtColumn) + " = now()" + (position.empty() ? "" : ", " + position + " = s." + position) +
          " FROM " + write.staging + " AS s WHERE " + op + " = 'd' AND " + write.key_match() + write.not_stale();
  } else {
    sql = "DELETE FROM " + write.target + " AS t USING " + write.staging + " AS s WHERE " + op + " = 'd' AND " +
          write.key_match() + write.not_stale();
  }
  if (Status s = exec(sql); !s) return s;
  if (position.empty()) return {};
  // Remember where each row was deleted, so older events cannot bring it
  // back. Tombstones follow their delete event and carry no source position,
  // so they leave what the delete recorded alone.
  const std::string prefix = std::to_string(kPositionPrefixBytes);
  return exec("INSERT INTO " + sink_.guard_.deletes_table() + " AS d (table_name, row_key, position) SELECT " +
              write.table_literal + ", s." + quote_identifier(kKeyColumn) + ", s." + position + " FROM " +
              write.staging + " AS s WHERE " + op + " = 'd' AND get_byte(s." + position + ", 0) <> " +
              std::to_string(static_cast<int>(PositionKind::kKafkaOffset)) +
              " ON CONFLICT (table_name, row_key) DO UPDATE SET position = EXCLUDED.position, deleted_at = now() "
              "WHERE " + StaleGuard::newer_sql("EXCLUDED.position", "d.position") +
              " OR substring(d.position from 1 for " + prefix + ") <> substring(EXCLUDED.position from 1 for " +
              prefix + ")");
}

Status PostgresSink::Apply::apply_table(const TableTarget& target, std::span<const size_t> entries, Tally& tally) {
  const TableName& table = target.table;
  TablePlan plan = target.mode == TableMode::kHistory     ? plan_history(config_, batch_, entries)
                   : target.mode == TableMode::kChangelog ? plan_changelog(config_, batch_, entries)
                                                          : plan_table(config_, batch_, entries);
  tally.applied += plan.applied;
  tally.skipped += plan.skipped;
  tally.stale += plan.stale;
  if (plan.rows.empty()) return {};
  auto schema = target_schema(table, plan);
  if (!schema) return schema.take_error();
  TableWrite write;
  if (Status s = resolve(table, plan, *schema, write); !s) return s;
  if (Status s = stage(plan, write); !s) return s;
  if (target.mode != TableMode::kReplica) {
    StagedWrite staged{table, write.target, write.staging, write.column_list, write.written, schema->primary_key};
    HistoryWriter history(connection(), config_.stale_guard_column);
    Status s = target.mode == TableMode::kHistory ? history.write_versions(plan, staged)
                                                  : history.write_changelog(plan, staged);
    if (!s) return s;
    return exec("DROP TABLE " + write.staging);
  }
  if (plan.guarded) {
    if (Status s = drop_stale(plan, write, tally); !s) return s;
  }
  if (write.any_upsert) {
    if (Status s = write_upserts(write); !s) return s;
  }
  if (write.any_delete && !write.keys.empty()) {
    if (Status s = write_deletes(write); !s) return s;
  }
  return exec("DROP TABLE " + write.staging);
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
  auto routes = TableRoutes::create(sink);
  if (!routes) return routes.take_error();
  std::unique_ptr<PostgresSink> out(new PostgresSink(connection, sink, std::move(consumer_group)));
  out->routes_ = std::move(*routes);
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
