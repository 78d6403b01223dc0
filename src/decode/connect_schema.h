// ConnectSchema: the interpreted form of a Kafka Connect JSON schema
// ({"type":"struct","fields":[...],"name":...,"parameters":{...}}), with each
// field's Debezium/Connect logical type resolved once into a ValueKind so that
// decoding a payload is a switch per value. Immutable once built; shared by the
// schema cache. Thread-safe to read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "decode/json_tree.h"
#include "sluice/change_event.h"
#include "sluice/result.h"

namespace sluice {

// How a payload value is converted; one per (Connect type, logical name) pair.
enum class ValueKind : uint8_t {
  kBoolean,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kFloat32,
  kFloat64,
  kString,          // string kept as is (also Enum, Xml, Json, ZonedTimestamp, ...)
  kUuid,            // string, lower-cased
  kBytes,           // base64 -> raw bytes (also Bits)
  kDecimal,         // Connect Decimal: base64 unscaled, `scale` parameter
  kVariableDecimal, // io.debezium.data.VariableScaleDecimal struct {scale, value}
  kDateDays,        // days since epoch
  kTimeMillis,
  kTimeMicros,
  kTimeNanos,
  kTimestampMillis,
  kTimestampMicros,
  kTimestampNanos,
  kMicroDuration,
  kGeometry,        // struct {wkb, srid}
  kArray,
  kMap,
  kStruct,
};

struct ConnectSchema {
  ValueKind kind = ValueKind::kString;
  FieldType field_type = FieldType::kString;
  bool optional = true;
  // kDecimal: the bounded `scale` parameter, 0 when absent, possibly negative;
  // -1 for other types. Precision: -1 when unknown.
  int32_t scale = -1;
  int32_t precision = -1;
  std::string field;  // member name inside a struct
  std::string name;   // Connect logical name, may be empty
  std::vector<ConnectSchema> fields;  // struct members; array: [items]; map: [keys, values]

  // Index of field `name` in `fields`, or -1.
  int field_index(std::string_view field_name) const;
};

// Interprets the schema JSON at `index` of `tree`. Errors are record errors
// naming the offending field ("schema_invalid").
Result<ConnectSchema> parse_connect_schema(const JsonTree& tree, uint32_t index, int max_depth);

}  // namespace sluice
