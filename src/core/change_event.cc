#include "sluice/change_event.h"

#include "sluice/error.h"
#include "sluice/record.h"
#include "sluice/reject.h"

namespace sluice {

std::string_view to_string(Op op) {
  switch (op) {
    case Op::kCreate: return "c";
    case Op::kRead: return "r";
    case Op::kUpdate: return "u";
    case Op::kDelete: return "d";
    case Op::kTruncate: return "t";
    case Op::kMessage: return "m";
  }
  return "?";
}

std::string_view to_string(FieldType type) {
  switch (type) {
    case FieldType::kBoolean: return "boolean";
    case FieldType::kInt8: return "int8";
    case FieldType::kInt16: return "int16";
    case FieldType::kInt32: return "int32";
    case FieldType::kInt64: return "int64";
    case FieldType::kFloat32: return "float32";
    case FieldType::kFloat64: return "float64";
    case FieldType::kString: return "string";
    case FieldType::kBytes: return "bytes";
    case FieldType::kDecimal: return "decimal";
    case FieldType::kVariableDecimal: return "variable_decimal";
    case FieldType::kDate: return "date";
    case FieldType::kTime: return "time";
    case FieldType::kTimeTz: return "timetz";
    case FieldType::kTimestamp: return "timestamp";
    case FieldType::kTimestampTz: return "timestamptz";
    case FieldType::kInterval: return "interval";
    case FieldType::kJson: return "json";
    case FieldType::kUuid: return "uuid";
    case FieldType::kXml: return "xml";
    case FieldType::kEnum: return "enum";
    case FieldType::kEnumSet: return "enum_set";
    case FieldType::kBits: return "bits";
    case FieldType::kYear: return "year";
    case FieldType::kGeometry: return "geometry";
    case FieldType::kArray: return "array";
    case FieldType::kMap: return "map";
    case FieldType::kStruct: return "struct";
  }
  return "?";
}

std::string_view to_string(ErrorClass error_class) {
  switch (error_class) {
    case ErrorClass::kTransient: return "transient";
    case ErrorClass::kRecord: return "record";
    case ErrorClass::kFatal: return "fatal";
  }
  return "?";
}

std::string_view to_string(Stage stage) {
  switch (stage) {
    case Stage::kDecode: return "decode";
    case Stage::kValidate: return "validate";
    case Stage::kSink: return "sink";
  }
  return "?";
}

int RowSchema::index_of(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

const Datum* Row::find(std::string_view name) const {
  if (!schema) return nullptr;
  int index = schema->index_of(name);
  if (index < 0 || static_cast<size_t>(index) >= values.size()) return nullptr;
  return &values[static_cast<size_t>(index)];
}

const Column* Row::column(std::string_view name) const {
  if (!schema) return nullptr;
  int index = schema->index_of(name);
  return index < 0 ? nullptr : &schema->columns[static_cast<size_t>(index)];
}

namespace {
struct OwnedRecordBytes {
  std::string topic;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};
}  // namespace

RawRecord RawRecord::copy_of(std::string topic, Partition partition, Offset offset, int64_t timestamp_ms,
                             std::optional<std::string> key, std::optional<std::string> value,
                             std::vector<std::pair<std::string, std::optional<std::string>>> headers) {
  auto owned = std::make_shared<OwnedRecordBytes>(
      OwnedRecordBytes{std::move(topic), std::move(key), std::move(value), std::move(headers)});
  RawRecord record;
  record.topic = owned->topic;
  record.partition = partition;
  record.offset = offset;
  record.timestamp_ms = timestamp_ms;
  if (owned->key) record.key = std::string_view(*owned->key);
  if (owned->value) record.value = std::string_view(*owned->value);
  for (const auto& [k, v] : owned->headers) {
    RecordHeader header{k, std::nullopt};
    if (v) header.value = std::string_view(*v);
    record.headers.push_back(header);
  }
  record.owner = std::move(owned);
  return record;
}

}  // namespace sluice
