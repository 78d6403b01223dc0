#include "decode/connect_schema.h"

#include <charconv>
#include <limits>
#include <optional>
#include <string_view>

#include "decode/logical_types.h"

namespace sluice {
namespace {

struct LogicalType {
  std::string_view name;
  ValueKind kind;
  FieldType type;
};

constexpr LogicalType kLogicalTypes[] = {
    {"org.apache.kafka.connect.data.Decimal", ValueKind::kDecimal, FieldType::kDecimal},
    {"io.debezium.data.VariableScaleDecimal", ValueKind::kVariableDecimal, FieldType::kVariableDecimal},
    {"org.apache.kafka.connect.data.Date", ValueKind::kDateDays, FieldType::kDate},
    {"io.debezium.time.Date", ValueKind::kDateDays, FieldType::kDate},
    {"org.apache.kafka.connect.data.Time", ValueKind::kTimeMillis, FieldType::kTime},
    {"io.debezium.time.Time", ValueKind::kTimeMillis, FieldType::kTime},
    {"io.debezium.time.MicroTime", ValueKind::kTimeMicros, FieldType::kTime},
    {"io.debezium.time.NanoTime", ValueKind::kTimeNanos, FieldType::kTime},
    {"org.apache.kafka.connect.data.Timestamp", ValueKind::kTimestampMillis, FieldType::kTimestamp},
    {"io.debezium.time.Timestamp", ValueKind::kTimestampMillis, FieldType::kTimestamp},
    {"io.debezium.time.MicroTimestamp", ValueKind::kTimestampMicros, FieldType::kTimestamp},
    {"io.debezium.time.NanoTimestamp", ValueKind::kTimestampNanos, FieldType::kTimestamp},
    {"io.debezium.time.ZonedTimestamp", ValueKind::kString, FieldType::kTimestampTz},
    {"io.debezium.time.ZonedTime", ValueKind::kString, FieldType::kTimeTz},
    {"io.debezium.time.MicroDuration", ValueKind::kMicroDuration, FieldType::kInterval},
    {"io.debezium.time.Interval", ValueKind::kString, FieldType::kInterval},
    {"io.debezium.time.Year", ValueKind::kInt32, FieldType::kYear},
    {"io.debezium.data.Json", ValueKind::kString, FieldType::kJson},
    {"io.debezium.data.Uuid", ValueKind::kUuid, FieldType::kUuid},
    {"io.debezium.data.Xml", ValueKind::kString, FieldType::kXml},
    {"io.debezium.data.Enum", ValueKind::kString, FieldType::kEnum},
    {"io.debezium.data.EnumSet", ValueKind::kString, FieldType::kEnumSet},
    {"io.debezium.data.Bits", ValueKind::kBytes, FieldType::kBits},
    {"io.debezium.data.geometry.Geometry", ValueKind::kGeometry, FieldType::kGeometry},
    {"io.debezium.data.geometry.Geography", ValueKind::kGeometry, FieldType::kGeometry},
    {"io.debezium.data.geometry.Point", ValueKind::kGeometry, FieldType::kGeometry},
};

struct PrimitiveType {
  std::string_view name;
  ValueKind kind;
  FieldType type;
};

constexpr PrimitiveType kPrimitiveTypes[] = {
    {"boolean", ValueKind::kBoolean, FieldType::kBoolean}, {"int8", ValueKind::kInt8, FieldType::kInt8},
    {"int16", ValueKind::kInt16, FieldType::kInt16},       {"int32", ValueKind::kInt32, FieldType::kInt32},
    {"int64", ValueKind::kInt64, FieldType::kInt64},       {"float", ValueKind::kFloat32, FieldType::kFloat32},
    {"float32", ValueKind::kFloat32, FieldType::kFloat32}, {"double", ValueKind::kFloat64, FieldType::kFloat64},
    {"float64", ValueKind::kFloat64, FieldType::kFloat64}, {"string", ValueKind::kString, FieldType::kString},
    {"bytes", ValueKind::kBytes, FieldType::kBytes},       {"array", ValueKind::kArray, FieldType::kArray},
    {"map", ValueKind::kMap, FieldType::kMap},             {"struct", ValueKind::kStruct, FieldType::kStruct},
};

Error invalid(std::string_view path, std::string_view problem) {
  return Error::record("schema_invalid", "schema of field '" + std::string(path) + "': " + std::string(problem));
}

// A schema parameter read as an integer. Parameters are strings in Connect JSON
// ("scale": "2"); numbers are accepted too.
struct IntParameter {
  bool present = false;          // the key exists
  std::optional<int64_t> value;  // nullopt when absent or not an integer
};

IntParameter int_parameter(const JsonTree& tree, uint32_t params, std::string_view key) {
  IntParameter out;
  uint32_t v = tree.find(params, key);
  if (v == JsonTree::kNone) return out;
  out.present = true;
  const JsonNode& n = tree.node(v);
  if (n.kind != JsonKind::kString && n.kind != JsonKind::kNumber) return out;
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(n.text.data(), n.text.data() + n.text.size(), value);
  if (ec == std::errc() && ptr == n.text.data() + n.text.size()) out.value = value;
  return out;
}

// Lenient form for parameters that only inform (string length): -1 when absent,
// malformed or outside int32.
int32_t optional_int_parameter(const JsonTree& tree, uint32_t params, std::string_view key) {
  IntParameter p = int_parameter(tree, params, key);
  if (!p.value || *p.value < 0 || *p.value > std::numeric_limits<int32_t>::max()) return -1;
  return static_cast<int32_t>(*p.value);
}

// Scale and precision of a Connect Decimal, bounded by what PostgreSQL numeric
// holds so that no schema makes decoding allocate by an attacker-chosen size.
// An absent scale is 0 (Connect always writes one); a negative scale is kept
// (value = unscaled * 10^-scale). An absent or unusable precision is -1.
Status decimal_parameters(const JsonTree& tree, uint32_t params, std::string_view path, ConnectSchema& schema) {
  schema.scale = 0;
  schema.precision = -1;
  if (params == JsonTree::kNone) return {};
  IntParameter scale = int_parameter(tree, params, "scale");
  if (scale.present) {
    if (!scale.value || *scale.value < kMinDecimalScale || *scale.value > kMaxDecimalScale) {
      return invalid(path, "decimal 'scale' is not an integer in [" + std::to_string(kMinDecimalScale) + ", " +
                               std::to_string(kMaxDecimalScale) + "] (what PostgreSQL numeric holds)");
    }
    schema.scale = static_cast<int32_t>(*scale.value);
  }
  IntParameter precision = int_parameter(tree, params, "connect.decimal.precision");
  if (precision.present) {
    if (!precision.value || *precision.value < 1 || *precision.value > kMaxDecimalPrecision) {
      return invalid(path, "decimal 'connect.decimal.precision' is not an integer in [1, " +
                               std::to_string(kMaxDecimalPrecision) + "] (what PostgreSQL numeric holds)");
    }
    schema.precision = static_cast<int32_t>(*precision.value);
    return {};
  }
  // Debezium's column.propagate.source.type length: informative only, so a value
  // numeric cannot take leaves the precision unknown rather than failing.
  int32_t length = optional_int_parameter(tree, params, "__debezium.source.column.length");
  if (length >= 1 && length <= kMaxDecimalPrecision) schema.precision = length;
  return {};
}

Result<ConnectSchema> parse_at(const JsonTree& tree, uint32_t index, std::string_view path, int depth_left) {
  if (depth_left <= 0) return invalid(path, "nested too deeply");
  const JsonNode& node = tree.node(index);
  if (node.kind != JsonKind::kObject) return invalid(path, "is not a JSON object");
  ConnectSchema schema;
  uint32_t type = tree.find(index, "type");
  if (type == JsonTree::kNone || tree.node(type).kind != JsonKind::kString) {
    return invalid(path, "'type' is missing or not a string");
  }
  std::string_view type_name = tree.node(type).text;
  bool known = false;
  for (const auto& p : kPrimitiveTypes) {
    if (p.name == type_name) {
      schema.kind = p.kind;
      schema.field_type = p.type;
      known = true;
      break;
    }
  }
  if (!known) return invalid(path, "unknown type '" + std::string(type_name) + "'");
  uint32_t optional = tree.find(index, "optional");
  if (optional != JsonTree::kNone) schema.optional = tree.node(optional).kind != JsonKind::kFalse;
  uint32_t name = tree.find(index, "name");
  if (name != JsonTree::kNone && tree.node(name).kind == JsonKind::kString) {
    schema.name = std::string(tree.node(name).text);
    for (const auto& l : kLogicalTypes) {
      if (l.name == schema.name) {
        schema.kind = l.kind;
        schema.field_type = l.type;
        break;
      }
    }
  }
  uint32_t params = tree.find(index, "parameters");
  if (params != JsonTree::kNone && tree.node(params).kind != JsonKind::kObject) params = JsonTree::kNone;
  if (schema.kind == ValueKind::kDecimal) {
    if (auto st = decimal_parameters(tree, params, path, schema); !st) return st.take_error();
  } else if (params != JsonTree::kNone) {
    // Only informs other types (a string's declared length); never fails.
    schema.precision = optional_int_parameter(tree, params, "connect.decimal.precision");
    if (schema.precision < 0) schema.precision = optional_int_parameter(tree, params, "__debezium.source.column.length");
  }

  if (type_name == "struct") {
    uint32_t fields = tree.find(index, "fields");
    if (fields == JsonTree::kNone || tree.node(fields).kind != JsonKind::kArray) {
      return invalid(path, "struct without a 'fields' array");
    }
    const JsonNode& list = tree.node(fields);
    for (uint32_t i = fields + 1; i < list.end; i = tree.node(i).end) {
      uint32_t field_name = tree.find(i, "field");
      if (field_name == JsonTree::kNone || tree.node(field_name).kind != JsonKind::kString) {
        return invalid(path, "a struct member has no 'field' name");
      }
      std::string child_path = path.empty() ? std::string(tree.node(field_name).text)
                                            : std::string(path) + "." + std::string(tree.node(field_name).text);
      auto child = parse_at(tree, i, child_path, depth_left - 1);
      if (!child) return child.take_error();
      child->field = std::string(tree.node(field_name).text);
      schema.fields.push_back(std::move(*child));
    }
  } else if (type_name == "array") {
    uint32_t items = tree.find(index, "items");
    if (items == JsonTree::kNone) return invalid(path, "array without 'items'");
    auto child = parse_at(tree, items, std::string(path) + "[]", depth_left - 1);
    if (!child) return child.take_error();
    schema.fields.push_back(std::move(*child));
  } else if (type_name == "map") {
    uint32_t keys = tree.find(index, "keys");
    uint32_t values = tree.find(index, "values");
    if (keys == JsonTree::kNone || values == JsonTree::kNone) return invalid(path, "map without 'keys'/'values'");
    auto k = parse_at(tree, keys, std::string(path) + "{key}", depth_left - 1);
    if (!k) return k.take_error();
    auto v = parse_at(tree, values, std::string(path) + "{value}", depth_left - 1);
    if (!v) return v.take_error();
    schema.fields.push_back(std::move(*k));
    schema.fields.push_back(std::move(*v));
  }
  if (schema.kind == ValueKind::kVariableDecimal || schema.kind == ValueKind::kGeometry) {
    if (type_name != "struct") return invalid(path, "logical type '" + schema.name + "' must be a struct");
  }
  return schema;
}

}  // namespace

int ConnectSchema::field_index(std::string_view field_name) const {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].field == field_name) return static_cast<int>(i);
  }
  return -1;
}

Result<ConnectSchema> parse_connect_schema(const JsonTree& tree, uint32_t index, int max_depth) {
  return parse_at(tree, index, "", max_depth);
}

}  // namespace sluice
