#include "sinks/postgres/postgres_sink.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>

#include "core/logging.h"
#include "decode/logical_types.h"
#include "sinks/postgres/binary_copy_writer.h"
#include "sinks/postgres/copy_writer.h"
#include "sinks/postgres/history_plan.h"
#include "sinks/postgres/history_writer.h"
#include "sinks/postgres/sqlstate.h"
#include "sinks/postgres/stale_guard.h"
#include "sinks/postgres/table_plan.h"
#include "sluice/identifier.h"

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
  // Whether the names of `event` (its table, key and written columns) were
  // found holdable before; remember_names() records those that are.
  bool names_known(const ChangeEvent& event) const;
  void remember_names(const ChangeEvent& event) const;
  // A reject for entries that cannot be applied whatever the table holds.
  std::optional<Reject> precheck(const ChangeEvent& event) const;
  // A reject for an event whose table or a column it writes PostgreSQL cannot
  // name exactly (see sluice/identifier.h): a long name would be truncated and
  // could collide with another, a NUL byte cannot be sent at all.
  std::optional<Reject> identifier_reject(const ChangeEvent& event) const;

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
    size_t upserts = 0;  // staged rows of each op (upserts: op 'u' or 'c')
    size_t deletes = 0;
    size_t creates = 0;  // of the upserts, rows whose event created the row at the source (op 'c')
    bool deletes_known = false;  // the deletes table holds rows of this table
    // The target's primary key is exactly the key columns: a plain INSERT of
    // an existing row then fails (without such a key, ON CONFLICT fails
    // instead, and a plain INSERT would write a duplicate).
    bool key_is_primary = false;

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
  // Writes one planned row's staging columns; a record error from write_value.
  // Where each written column is in row images of one schema (-1: absent),
  // found once per schema rather than by name for every value.
  struct ImageColumns {
    const RowSchema* schema = nullptr;
    std::vector<int> index;  // by TableWrite::written
  };
  Status write_row(CopyValueWriter& writer, const TablePlan& plan, const TableWrite& write, const PlannedRow& row,
                   ImageColumns& image_columns) const;
  // A record error for a value PostgreSQL would round (time.nanos.handling.mode = reject).
  // `image`: the row image values come from (nullptr: none), for non-key columns.
  // `at`: the column's index in `image` (-1: absent).
  Status write_value(CopyValueWriter& writer, const WriteColumn& column, const ChangeEvent& event,
                     const Row* image, int at) const;
  // The binary COPY types of the staging columns, or nullopt when one has none.
  std::optional<std::vector<BinaryType>> binary_columns(const TablePlan& plan, const TableWrite& write) const;
  // The stale-event guard, before the writes: drops staged rows older than
  // the delete that removed their row (and, for insert.mode = insert, older
  // than the row), counting their events as stale, and forgets the deletions
  // of the rows about to be written again. Rows older than the target row are
  // skipped by the writes themselves (drop_skipped_as_stale).
  Status drop_stale(const TablePlan& plan, TableWrite& write, Tally& tally);
  // After a write of the staged rows of `op` ("d": the deletes; "u": every
  // other row) that changed `affected` rows: drops and counts the staged rows
  // it skipped as stale.
  Status drop_skipped_as_stale(const TablePlan& plan, TableWrite& write, std::string_view op, size_t affected,
                               Tally& tally);
  // Deletes the staged rows that `where` (on s, the staging table, and
  // `using_`) selects, and returns the events they stand for.
  Result<size_t> drop_stale_staged(const TablePlan& plan, TableWrite& write, const std::string& using_,
                                   const std::string& where);
  // The events the removed rows (key hex, op) stand for; updates the staged counts.
  size_t count_stale(const TablePlan& plan, const PGresult* removed, TableWrite& write);
  // Upserts: rows of events that created the row at the source ('c') go in by
  // a plain INSERT first, the others ('u') by INSERT ... ON CONFLICT; when a
  // created row exists already, all of them by INSERT ... ON CONFLICT.
  Status write_upserts(const TablePlan& plan, TableWrite& write, Tally& tally);
  // Runs `sql`, the plain INSERT of the staged 'c' rows, under a savepoint:
  // the rows it inserted, or nullopt when it failed on a row (one that
  // exists, or any other record error; nothing inserted), which the upsert
  // then writes or refuses as it always did. An ON CONFLICT insert probes
  // the key's index before it inserts, then inserts: twice the index work
  // for a new row, which is what most creates are.
  Result<std::optional<size_t>> insert_creates(const std::string& sql);
  // Savepoints insert_creates() took in this attempt: each keeps its
  // subtransaction until COMMIT, and past PostgreSQL's cache of 64 per
  // transaction every snapshot in the server gets slower.
  size_t creates_savepoints_ = 0;
  static constexpr size_t kMaxCreatesSavepoints = 32;
  Status write_deletes(const TablePlan& plan, TableWrite& write, Tally& tally);
  // A staged row's op: 'd' removes the row, 'c' writes a row whose first
  // event in the batch created it at the source (a delete then a create of
  // the same key is no such row: the delete was folded away, not applied),
  // 'u' writes any other.
  std::string_view staged_op(const PlannedRow& row) const {
    if (is_delete(batch_.entries[row.entry].event)) return "d";
    return row.created ? "c" : "u";
  }

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

bool PostgresSink::Apply::names_known(const ChangeEvent& event) const {
  const TableName* table = event.table.name.empty() ? nullptr : &event.table;
  if (table == nullptr || !sink_.tables_checked_.contains(*table)) return false;
  auto known = [&](const std::optional<Row>& row) {
    if (!row || !row->schema) return true;
    return std::any_of(sink_.names_checked_.begin(), sink_.names_checked_.end(),
                       [&](const auto& schema) { return schema.get() == row->schema.get(); });
  };
  const bool key_names_from_event =
      config_.primary_key_mode == PrimaryKeyMode::kRecordKey && config_.primary_key_fields.empty();
  return (!key_names_from_event || known(event.key)) && (is_delete(event) || known(event.after));
}

void PostgresSink::Apply::remember_names(const ChangeEvent& event) const {
  if (event.table.name.empty()) return;
  constexpr size_t kMaxSchemas = 256;
  constexpr size_t kMaxTables = 4096;
  if (sink_.names_checked_.size() >= kMaxSchemas) sink_.names_checked_.clear();
  if (sink_.tables_checked_.size() >= kMaxTables) sink_.tables_checked_.clear();
  sink_.tables_checked_.insert(event.table);
  for (const auto* row : {&event.key, &event.after}) {
    if (!*row || !(*row)->schema) continue;
    const auto& schema = (*row)->schema;
    bool all = std::none_of(schema->columns.begin(), schema->columns.end(),
                            [](const Column& c) { return identifier_problem(c.name).has_value(); });
    bool known = std::any_of(sink_.names_checked_.begin(), sink_.names_checked_.end(),
                             [&](const auto& checked) { return checked.get() == schema.get(); });
    if (all && !known) sink_.names_checked_.push_back(schema);
  }
}

std::optional<Reject> PostgresSink::Apply::identifier_reject(const ChangeEvent& event) const {
  if (event.op != Op::kTruncate && names_known(event)) return std::nullopt;
  TableName table = target_of(event);
  auto reject = [&](const std::string& column, const std::string& what, const std::string& problem) {
    return Reject{Stage::kSink, "invalid_identifier", table.display(), column,
                  "cannot write " + origin_text(event) + ": " + what + " " + problem};
  };
  if (!table.schema.empty()) {
    if (auto problem = identifier_problem(table.schema)) return reject("", "schema name", *problem);
  }
  if (auto problem = identifier_problem(table.name)) return reject("", "table name", *problem);
  if (event.op == Op::kTruncate) return std::nullopt;
  auto of_table = [&] { return "of table " + identifier_for_display(table.display()); };
  for (const std::string& name : key_columns(config_, event)) {
    if (auto problem = identifier_problem(name)) return reject(name, "key column " + of_table() + ":", *problem);
  }
  if (!is_delete(event) && event.after && event.after->schema) {
    for (const Column& column : event.after->schema->columns) {
      if (!field_wanted(config_, event.origin.topic, column.name)) continue;
      if (auto problem = identifier_problem(column.name)) {
        return reject(column.name, "column " + of_table() + ":", *problem);
      }
    }
  }
  remember_names(event);
  return std::nullopt;
}

std::optional<Reject> PostgresSink::Apply::precheck(const ChangeEvent& event) const {
  auto reject = [&](std::string rule, std::string message) {
    return Reject{Stage::kSink, std::move(rule), target_of(event).display(), "", std::move(message)};
  };
  if (std::optional<Reject> invalid = identifier_reject(event)) return invalid;
  if (!is_delete(event) && !(event.after && event.after->schema)) {
    return reject("missing_after", "change event " + origin_text(event) + " has no row image to write");
  }
  if (config_.primary_key_mode != PrimaryKeyMode::kRecordKey &&
      config_.primary_key_mode != PrimaryKeyMode::kRecordValue) {
    return std::nullopt;
  }
  bool keyed = false;
  std::optional<Reject> missing;
  for_each_key_column(config_, event, [&](std::string_view name) {
    keyed = true;
    if (missing) return;
    const Datum* value = key_value(config_, event, name);
    if (value == nullptr || value->null) {
      missing = reject("missing_key", "primary key column " + std::string(name) + " of " + target_of(event).display() +
                                          " is missing or null in " + origin_text(event));
    }
  });
  if (!keyed) {
    return reject("missing_key",
                  "change event " + origin_text(event) + " has no primary key for " + target_of(event).display());
  }
  return missing;
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
  sink_.forget_session_tables();
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

Status PostgresSink::Apply::write_value(CopyValueWriter& writer, const WriteColumn& c, const ChangeEvent& event,
                                        const Row* image, int at) const {
  const Datum* value = nullptr;
  const Column* source = nullptr;
  if (c.key) {
    value = key_value(config_, event, c.name);
  } else if (image != nullptr && at >= 0) {
    const auto index = static_cast<size_t>(at);
    if (index < image->values.size()) value = &image->values[index];
    source = &image->schema->columns[index];
  }
  if (value == nullptr || value->null) {
    writer.null();
    return {};
  }
  FieldType type = source ? source->type : c.source.type;
  if (temporal_type(type) && microsecond_column(c.target->type) && has_sub_microsecond_digits(value->text)) {
    if (config_.nanos_handling == NanosHandling::kTruncate) {
      writer.text(truncated_to_microseconds(value->text));
      return {};
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
  return {};
}

Status PostgresSink::Apply::stage(const TablePlan& plan, TableWrite& write) {
  // Staging-only leading columns: the op, and with the guard the row key.
  std::string meta = quote_identifier(kOpColumn);
  std::string meta_types = "''::text AS " + quote_identifier(kOpColumn);
  if (plan.guarded) {
    meta += ", " + quote_identifier(kKeyColumn);
    meta_types += ", ''::bytea AS " + quote_identifier(kKeyColumn);
  }
  // One staging table per shape (target, columns, their types) and session,
  // emptied by every commit; creating one per batch costs catalog writes.
  std::string shape = write.target + "|" + meta;
  for (const WriteColumn& c : write.written) shape += "|" + c.name + " " + c.target->type;
  auto [staging, created] = sink_.staging_tables_.try_emplace(std::move(shape));
  if (created) {
    staging->second.name = quote_identifier("sluice_stage_" + std::to_string(++sink_.staging_counter_));
    if (Status s = exec("CREATE TEMP TABLE " + staging->second.name + " ON COMMIT DELETE ROWS AS SELECT " + meta_types +
                        ", " + write.column_list + " FROM " + write.target + " WITH NO DATA");
        !s) {
      sink_.staging_tables_.erase(staging);
      return s;
    }
  } else if (staging->second.used) {
    // Used before in this transaction (another group of the same table).
    if (Status s = exec("DELETE FROM " + staging->second.name); !s) return s;
  }
  staging->second.used = true;
  write.staging = staging->second.name;

  // Rows stream to PostgreSQL in chunks while the next ones are written, in
  // binary format where every column's type has one. A value the binary
  // writer does not encode ends the binary COPY; it and the rows after it
  // follow as text, into the same staging table.
  const std::string copy = "COPY " + write.staging + " (" + meta + ", " + write.column_list + ") FROM STDIN";
  constexpr size_t kChunkBytes = 1 << 20;
  std::optional<BinaryCopyWriter> binary;
  if (auto types = binary_columns(plan, write)) binary.emplace(std::move(*types));
  if (Status s = connection().copy_begin(binary ? copy + " (FORMAT binary)" : copy); !s) return s;
  CopyWriter text;
  ImageColumns image_columns;
  // A value sluice refuses ends the COPY (its rows roll back with the
  // savepoint) and fails the attempt with a record error.
  auto refuse = [&](Status refused) {
    (void)connection().copy_end();
    return refused;
  };
  // With one row per key, the rows go out in key order, and so PostgreSQL
  // reads them: the index pages of one row's look-ups and writes are still
  // in the cache for the next row's (in arrival order every row's are
  // somewhere else in the index).
  std::vector<const PlannedRow*> order;
  order.reserve(plan.rows.size());
  for (const PlannedRow& row : plan.rows) order.push_back(&row);
  if (plan.one_row_per_key) {
    std::sort(order.begin(), order.end(), [](const PlannedRow* a, const PlannedRow* b) { return a->key < b->key; });
  }
  for (const PlannedRow* planned : order) {
    const PlannedRow& row = *planned;
    ++(is_delete(batch_.entries[row.entry].event) ? write.deletes : write.upserts);
    if (staged_op(row) == "c") ++write.creates;
    if (binary) {
      if (Status s = write_row(*binary, plan, write, row, image_columns); !s) return refuse(std::move(s));
      if (binary->end_row()) {
        if (binary->data().size() >= kChunkBytes) {
          connection().copy_data(binary->data());
          binary->clear();
        }
        continue;
      }
      binary->finish();
      connection().copy_data(binary->data());
      binary.reset();
      if (Status s = connection().copy_end(); !s) return s;
      if (Status s = connection().copy_begin(copy); !s) return s;
    }
    if (Status s = write_row(text, plan, write, row, image_columns); !s) return refuse(std::move(s));
    text.end_row();
    if (text.data().size() >= kChunkBytes) {
      connection().copy_data(text.data());
      text.clear();
    }
  }
  if (binary) {
    binary->finish();
    connection().copy_data(binary->data());
  } else {
    connection().copy_data(text.data());
  }
  return connection().copy_end();
}

std::optional<std::vector<BinaryType>> PostgresSink::Apply::binary_columns(const TablePlan& plan,
                                                                           const TableWrite& write) const {
  std::vector<BinaryType> types = {BinaryType::kText};  // the op
  if (plan.guarded) types.push_back(BinaryType::kBytea);
  for (const WriteColumn& c : write.written) {
    auto type = binary_type_of(c.target->type);
    if (!type) return std::nullopt;
    types.push_back(*type);
  }
  return types;
}

Status PostgresSink::Apply::write_row(CopyValueWriter& writer, const TablePlan& plan, const TableWrite& write,
                                      const PlannedRow& row, ImageColumns& image_columns) const {
  const ChangeEvent& event = batch_.entries[row.entry].event;
  const bool remove = is_delete(event);
  const Row* image = nullptr;  // where non-key values come from
  if (row.before_image ? event.before.has_value() : !remove && event.after.has_value()) {
    image = row.before_image ? &*event.before : &*event.after;
  }
  if (image != nullptr && !image->schema) image = nullptr;  // nothing to find in it
  if (image != nullptr && image->schema.get() != image_columns.schema) {
    image_columns.schema = image->schema.get();
    image_columns.index.clear();
    for (const WriteColumn& c : write.written) image_columns.index.push_back(image->schema->index_of(c.name));
  }
  writer.text(staged_op(row));
  if (plan.guarded) writer.bytes(row.key);
  for (size_t i = 0; i < write.written.size(); ++i) {
    const WriteColumn& c = write.written[i];
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
      case WriteColumn::Kind::kValue:
        if (Status s = write_value(writer, c, event, image, image != nullptr ? image_columns.index[i] : -1); !s) return s;
        break;
    }
  }
  return {};
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

size_t PostgresSink::Apply::count_stale(const TablePlan& plan, const PGresult* removed, TableWrite& write) {
  size_t events = 0;
  for (int r = 0; r < PQntuples(removed); ++r) {
    events += plan.events_of(hex_decoded(PQgetvalue(removed, r, 0)));
    const std::string_view op = PQgetvalue(removed, r, 1);
    (op == "d" ? write.deletes : write.upserts) -= 1;
    if (op == "c") write.creates -= 1;
  }
  return events;
}

Result<size_t> PostgresSink::Apply::drop_stale_staged(const TablePlan& plan, TableWrite& write, const std::string& using_,
                                                      const std::string& where) {
  auto removed = connection().exec("DELETE FROM " + write.staging + " AS s USING " + using_ + " WHERE " + where +
                                   " RETURNING encode(s." + quote_identifier(kKeyColumn) + ", 'hex'), s." +
                                   quote_identifier(kOpColumn));
  if (!removed) return removed.take_error();
  return count_stale(plan, removed->get(), write);
}

Status PostgresSink::Apply::drop_stale(const TablePlan& plan, TableWrite& write, Tally& tally) {
  const std::string& position = write.position;
  size_t stale = 0;
  if (config_.insert_mode == InsertMode::kInsert) {
    // A plain INSERT has no ON CONFLICT ... WHERE to skip rows older than the
    // target's: drop them here, or they would fail as duplicates.
    auto dropped = drop_stale_staged(plan, write, write.target + " AS t",
                                     write.key_match() + " AND " +
                                         StaleGuard::newer_sql("t." + position, "s." + position));
    if (!dropped) return dropped.take_error();
    stale += *dropped;
  }
  auto known = connection().exec("SELECT EXISTS (SELECT 1 FROM " + sink_.guard_.deletes_table() +
                                 " WHERE table_name = " + write.table_literal + ")");
  if (!known) return known.take_error();
  write.deletes_known = std::string_view(PQgetvalue(known->get(), 0, 0)) == "t";
  if (write.deletes_known) {
    // One look-up per staged row in the deletes table: rows older than
    // their recorded deletion are dropped (writing them would bring the row
    // back), and the deletions of rows written again are forgotten. The
    // LATERAL ... LIMIT 1 keeps the look-up an index probe per staged row: a
    // hash join would read every deletion of the table in every batch, and
    // they accumulate with the table's history.
    const std::string key = quote_identifier(kKeyColumn);
    const std::string deletes = sink_.guard_.deletes_table();
    std::string sql = "WITH hit AS MATERIALIZED (SELECT s.ctid AS staged, d.entry, s." +
                      quote_identifier(kOpColumn) + " AS op, coalesce(" +
                      StaleGuard::newer_sql("d.position", "s." + position) + ", false) AS stale FROM " +
                      write.staging + " AS s CROSS JOIN LATERAL (SELECT e.ctid AS entry, e.position FROM " + deletes +
                      " AS e WHERE e.table_name = " + write.table_literal + " AND e.row_key = s." + key +
                      " LIMIT 1) AS d)";
    if (config_.insert_mode != InsertMode::kUpdate && write.upserts > 0) {
      // By the entries' row addresses, found above: a TID scan whatever the
      // statistics of the deletes table say (they lag behind its growth).
      sql += ", forgotten AS (DELETE FROM " + deletes + " AS d WHERE d.ctid = ANY (ARRAY(SELECT entry FROM hit "
             "WHERE op <> 'd' AND NOT stale)))";
    }
    sql += " DELETE FROM " + write.staging + " AS s WHERE s.ctid = ANY (ARRAY(SELECT staged FROM hit WHERE stale)) "
           "RETURNING encode(s." + key + ", 'hex'), s." + quote_identifier(kOpColumn);
    auto removed = connection().exec(sql);
    if (!removed) return removed.take_error();
    stale += count_stale(plan, removed->get(), write);
  }
  tally.applied -= std::min(tally.applied, stale);
  tally.skipped += stale;
  tally.stale += stale;
  return {};
}

Status PostgresSink::Apply::drop_skipped_as_stale(const TablePlan& plan, TableWrite& write, std::string_view op,
                                                  size_t affected, Tally& tally) {
  const size_t staged = op == "d" ? write.deletes : write.upserts;
  if (write.position.empty() || affected >= staged) return {};
  // Some staged rows changed nothing: those whose target row is newer were
  // stale (the others found no row). Rarely taken: only replays, failovers and
  // redeliveries leave rows behind.
  const std::string& position = write.position;
  auto dropped = drop_stale_staged(plan, write, write.target + " AS t",
                                   "s." + quote_identifier(kOpColumn) + (op == "d" ? " = 'd'" : " <> 'd'") + " AND " +
                                       write.key_match() + " AND " +
                                       StaleGuard::newer_sql("t." + position, "s." + position));
  if (!dropped) return dropped.take_error();
  tally.applied -= std::min(tally.applied, *dropped);
  tally.skipped += *dropped;
  tally.stale += *dropped;
  return {};
}

Status PostgresSink::Apply::write_upserts(const TablePlan& plan, TableWrite& write, Tally& tally) {
  const std::string op = "s." + quote_identifier(kOpColumn);
  const std::string& position = write.position;
  std::string sql;
  size_t affected = 0;
  bool wrote = false;
  if (config_.insert_mode == InsertMode::kUpdate && !write.keys.empty()) {
    if (!write.values.empty()) {
      sql = "UPDATE " + write.target + " AS t SET ";
      for (size_t i = 0; i < write.values.size(); ++i) {
        if (i > 0) sql += ", ";
        sql += quote_identifier(write.values[i]->name) + " = s." + quote_identifier(write.values[i]->name);
      }
      sql += " FROM " + write.staging + " AS s WHERE " + op + " <> 'd' AND " + write.key_match() + write.not_stale();
    }
  } else {
    const std::string insert = "INSERT INTO " + write.target + " AS t (" + write.column_list + ") SELECT " +
                               write.column_list + " FROM " + write.staging + " AS s WHERE " + op;
    if (config_.insert_mode == InsertMode::kUpsert && !write.keys.empty()) {
      std::string conflict = " ON CONFLICT (";
      for (size_t i = 0; i < write.keys.size(); ++i) {
        conflict += (i > 0 ? ", " : "") + quote_identifier(write.keys[i]->name);
      }
      conflict += ")";
      if (write.values.empty()) {
        conflict += " DO NOTHING";
      } else {
        conflict += " DO UPDATE SET ";
        for (size_t i = 0; i < write.values.size(); ++i) {
          if (i > 0) conflict += ", ";
          conflict += quote_identifier(write.values[i]->name) + " = EXCLUDED." + quote_identifier(write.values[i]->name);
        }
        // The stale-event guard: a row keeps what a newer event wrote.
        if (!position.empty()) {
          conflict += " WHERE NOT coalesce(" + StaleGuard::newer_sql("t." + position, "EXCLUDED." + position) + ", false)";
        }
      }
      sql = insert + " <> 'd'" + conflict;
      if (write.creates > 0 && write.key_is_primary && creates_savepoints_ < kMaxCreatesSavepoints) {
        auto created = insert_creates(insert + " = 'c'");
        if (!created) return created.take_error();
        if (*created) {
          affected = **created;
          wrote = true;
          sql = write.upserts > write.creates ? insert + " = 'u'" + conflict : "";
        }
      }
    } else {
      sql = insert + " <> 'd'";
    }
  }
  if (!sql.empty()) {
    auto result = connection().exec(sql);
    if (!result) return result.take_error();
    affected += std::strtoull(PQcmdTuples(result->get()), nullptr, 10);
    wrote = true;
  }
  if (!wrote) return {};
  return drop_skipped_as_stale(plan, write, "u", affected, tally);
}

Result<std::optional<size_t>> PostgresSink::Apply::insert_creates(const std::string& sql) {
  ++creates_savepoints_;
  if (Status s = exec("SAVEPOINT sluice_creates"); !s) return s.take_error();
  auto inserted = connection().exec(sql);
  if (inserted) {
    if (Status s = exec("RELEASE SAVEPOINT sluice_creates"); !s) return s.take_error();
    return std::optional<size_t>(std::strtoull(PQcmdTuples(inserted->get()), nullptr, 10));
  }
  if (inserted.error().error_class != ErrorClass::kRecord) return inserted.take_error();
  if (Status s = exec("ROLLBACK TO SAVEPOINT sluice_creates"); !s) return s.take_error();
  if (Status s = exec("RELEASE SAVEPOINT sluice_creates"); !s) return s.take_error();
  return std::optional<size_t>();
}

Status PostgresSink::Apply::write_deletes(const TablePlan& plan, TableWrite& write, Tally& tally) {
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
  auto result = connection().exec(sql);
  if (!result) return result.take_error();
  if (position.empty()) return {};
  const size_t affected = std::strtoull(PQcmdTuples(result->get()), nullptr, 10);
  if (Status s = drop_skipped_as_stale(plan, write, "d", affected, tally); !s) return s;
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
  write.key_is_primary = !write.keys.empty() && write.keys.size() == schema->primary_key.size() &&
                         std::all_of(write.keys.begin(), write.keys.end(), [&](const WriteColumn* key) {
                           return std::find(schema->primary_key.begin(), schema->primary_key.end(), key->name) !=
                                  schema->primary_key.end();
                         });
  if (Status s = stage(plan, write); !s) return s;
  if (target.mode != TableMode::kReplica) {
    StagedWrite staged{table, write.target, write.staging, write.column_list, write.written, schema->primary_key};
    HistoryWriter history(connection(), config_.stale_guard_column);
    Status s = target.mode == TableMode::kHistory ? history.write_versions(plan, staged)
                                                  : history.write_changelog(plan, staged);
    return s;
  }
  if (plan.guarded) {
    if (Status s = drop_stale(plan, write, tally); !s) return s;
  }
  if (write.upserts > 0) {
    if (Status s = write_upserts(plan, write, tally); !s) return s;
  }
  if (write.deletes > 0 && !write.keys.empty()) {
    if (Status s = write_deletes(plan, write, tally); !s) return s;
  }
  return {};
}

Result<ApplyStats> PostgresSink::Apply::run(const BeforeCommit& before_commit) {
  if (Status s = exec("BEGIN"); !s) return s.take_error();
  for (auto& [shape, staging] : sink_.staging_tables_) staging.used = false;
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
    std::optional<Reject> reject = event.op == Op::kTruncate ? identifier_reject(event) : precheck(event);
    if (reject) {
      stats_.rejects.push_back(SinkReject{i, std::move(*reject)});
      continue;
    }
    work.push_back(i);
  }
  auto fail = [&](Error error) -> Result<ApplyStats> {
    sink_.forget_session_tables();
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
  for (const PartitionOffset& offset : batch_.offsets) {
    Offset& committed = sink_.committed_[offset.partition];
    committed = std::max(committed, offset.next);
  }
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
  staging_tables_.clear();
  connection_.reset();
  auto opened = Connection::open(connection_config_);
  if (!opened) return opened.take_error();
  connection_ = std::move(*opened);
  catalog_.set_connection(connection_.get());
  if (Status s = offsets_.ensure_table(*connection_); !s) return s;
  if (config_.stale_guard) {
    if (Status s = guard_.ensure_table(*connection_); !s) return s;
  }
  return check_offsets_kept();
}

Status PostgresSink::check_offsets_kept() {
  if (committed_.empty()) return {};
  std::vector<TopicPartition> partitions;
  for (const auto& [partition, next] : committed_) partitions.push_back(partition);
  auto stored = offsets_.load(*connection_, offsets_.consumer_group(), partitions);
  if (!stored) return stored.take_error();
  for (const auto& [partition, next] : committed_) {
    auto it = stored->find(partition);
    Offset found = it != stored->end() ? it->second : Offset{0};
    if (found < next) {
      // Continuing would leave the events between the two offsets unapplied:
      // the consumer already read past them. A restart seeks to the stored
      // offsets and applies them again.
      return Error::fatal("offsets_lost",
                          "PostgreSQL lost committed transactions: the stored next offset of " + partition.topic + "[" +
                              std::to_string(partition.partition.value) + "] is " + std::to_string(found.value) +
                              " after reconnecting, but " + std::to_string(next.value) +
                              " was committed (a failover to a standby that was behind, or a restore?). "
                              "Restart sluice to apply the lost events again from the stored offsets");
    }
  }
  return {};
}

Result<ApplyStats> PostgresSink::apply(const Batch& batch, const BeforeCommit& before_commit) {
  if (Status s = ensure_connected(); !s) return s.take_error();
  auto applied = Apply(*this, batch).run(before_commit);
  // Another session changed a target table behind the catalog cache (dropped
  // it or a column, changed a type): the failed attempt rolled back and
  // forgot the cache, so one more attempt works from the table as it is now.
  if (!applied && means_table_changed(applied.error().reason)) {
    logging::get("postgres")->warn("a target table changed outside sluice ({}); reloading it and applying again",
                                   applied.error().message);
    applied = Apply(*this, batch).run(before_commit);
  }
  return applied;
}

Result<std::map<TopicPartition, Offset>> PostgresSink::load_offsets(const std::string& group,
                                                                    const std::vector<TopicPartition>& partitions) {
  if (Status s = ensure_connected(); !s) return s.take_error();
  return offsets_.load(*connection_, group, partitions);
}

}  // namespace sluice::pg
