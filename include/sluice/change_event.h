// The change event model: what a Debezium record means once decoded, in a form
// that keeps every value exact. Values travel as canonical text (or raw bytes
// for binary types) until the sink writes them, so no precision, time zone or
// special value (NaN, infinity) is lost on the way. Plain value types; an event
// is owned by one stage at a time and is not shared between threads.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/types.h"

namespace sluice {

enum class Op : uint8_t {
  kCreate,    // c
  kRead,      // r: snapshot read, applied like a create
  kUpdate,    // u
  kDelete,    // d, and tombstones
  kTruncate,  // t
  kMessage,   // m: logical decoding message, skipped and counted
};

std::string_view to_string(Op op);

// Logical type of a field. The comment says how its text is written.
enum class FieldType : uint8_t {
  kBoolean,          // "true" / "false"
  kInt8,             // decimal integer text
  kInt16,
  kInt32,
  kInt64,
  kFloat32,          // shortest round-trip text; "NaN", "Infinity", "-Infinity"
  kFloat64,
  kString,           // UTF-8
  kBytes,            // raw bytes (not encoded)
  kDecimal,          // exact decimal text with exactly `scale` fraction digits: "-12.340" (none when scale < 0)
  kVariableDecimal,  // exact decimal text, any scale: "3.14159", "-7", "NaN"
  kDate,             // ISO date "2024-02-29"; years before 1 written "0044-03-15 BC"
  kTime,             // "13:45:00.123456" (up to 9 fraction digits for NanoTime)
  kTimeTz,           // "13:45:00.123+02:00"
  kTimestamp,        // no zone: "2024-02-29 13:45:00.123456"; "infinity", "-infinity"
  kTimestampTz,      // with offset: "2024-02-29 13:45:00.123456+00"; "infinity", "-infinity"
  kInterval,         // ISO 8601 duration "P1Y2M3DT4H5M6.789S"
  kJson,             // JSON text
  kUuid,             // canonical lower-case text
  kXml,              // XML text
  kEnum,             // the label
  kEnumSet,          // comma-separated labels
  kBits,             // raw bytes, as Debezium's Bits (little-endian bit order in bytes)
  kYear,             // decimal integer text
  kGeometry,         // WKB bytes; EWKB (SRID flag 0x20000000 and the SRID) when the value has an SRID
  kArray,            // JSON array text; element type in Column::element_type
  kMap,              // JSON object text
  kStruct,           // JSON object text
};

std::string_view to_string(FieldType type);

struct Column {
  std::string name;
  FieldType type = FieldType::kString;
  bool optional = true;
  // kDecimal: scale (-1000..16383; the decoder always sets it); negative means a
  // multiple of 10^-scale with no fraction digits. -1 (unused) for other types.
  int32_t scale = -1;
  // Decimal precision or string length from connector parameters; -1 when unknown.
  int32_t precision = -1;
  // Element type of kArray columns.
  FieldType element_type = FieldType::kString;
  // True when the record carried no schema and the type was guessed from the JSON
  // value; the sink may refine it by the target column's type.
  bool inferred = false;
  // The Connect logical name ("io.debezium.time.MicroTimestamp"), for diagnostics.
  std::string logical_name;
};

// The columns of a row image. Shared between all rows decoded with the same
// schema, so it is immutable once built.
struct RowSchema {
  std::vector<Column> columns;

  // Index of the column named `name`, or -1.
  int index_of(std::string_view name) const;
};

struct Datum {
  bool null = true;
  std::string text;  // meaningful only when !null; see FieldType for the form
  // kGeometry only: the value's spatial reference id (Debezium's "srid"); 0 when absent.
  // It belongs to the value, not the column, since rows of one column may differ.
  // A non-zero SRID is inside `text` too (EWKB), which is what the sink writes.
  int32_t srid = 0;

  static Datum of(std::string value) { return Datum{false, std::move(value)}; }
  bool operator==(const Datum&) const = default;
};

// One row image (key, before or after): values in the order of schema->columns.
struct Row {
  std::shared_ptr<const RowSchema> schema;
  std::vector<Datum> values;

  // The value of column `name`, or nullptr when the row has no such column.
  const Datum* find(std::string_view name) const;
  const Column* column(std::string_view name) const;
};

// A position in the source database's log, used to order events of one row.
// Positions of different kinds are not comparable.
enum class PositionKind : uint8_t {
  kNone,
  kKafkaOffset,   // parts = {offset}
  kTimestamp,     // parts = {ts_ms}
  kPostgresLsn,   // parts = {lsn}
  kMysqlBinlog,   // parts = {file sequence, pos, row}
  kSqlServerLsn,  // parts = {commit_lsn hi, commit_lsn lo, change_lsn hi, change_lsn lo}
};

struct SourcePosition {
  PositionKind kind = PositionKind::kNone;
  std::array<uint64_t, 4> parts{};

  bool comparable_with(const SourcePosition& other) const {
    return kind != PositionKind::kNone && kind == other.kind;
  }
  // Lexicographic order of parts; meaningful only when comparable_with().
  bool operator<(const SourcePosition& other) const { return parts < other.parts; }
  bool operator==(const SourcePosition&) const = default;
};

// The `source` block of a Debezium envelope (or the __source_* fields of a
// flattened event).
struct SourceInfo {
  std::string connector;  // "postgresql", "mysql", "sqlserver", ...
  std::string db;
  std::string schema;
  std::string table;
  int64_t ts_ms = 0;       // commit time in the source database
  bool snapshot = false;
  SourcePosition position;
};

// Where a record came from in Kafka.
struct RecordOrigin {
  std::string topic;
  Partition partition;
  Offset offset;
  int64_t timestamp_ms = 0;  // Kafka record timestamp
};

struct ChangeEvent {
  Op op = Op::kCreate;
  RecordOrigin origin;
  SourceInfo source;
  int64_t ts_ms = 0;  // envelope ts_ms (when the connector processed it)
  bool tombstone = false;  // a Kafka record with a null value: delete of `key`
  std::optional<Row> key;
  std::optional<Row> before;
  std::optional<Row> after;
  // Filled by the router: the target table.
  TableName table;
};

}  // namespace sluice
