#include "decode/debezium_decoder.h"

#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "decode/json_scan.h"
#include "decode/logical_types.h"

namespace sluice {
namespace {

// Decimal unscaled values longer than this are rejected (PostgreSQL numeric
// holds at most 131072 digits before the point; this is far beyond any source).
constexpr size_t kMaxDecimalBytes = 8192;

// Doubles at or above this round to infinity as float32 (FLT_MAX plus half an ulp).
constexpr double kFloat32Overflow = 0x1.ffffffp+127;

std::string field_path(std::string_view image, std::string_view column) {
  std::string path;
  path.reserve(image.size() + column.size() + 1);
  if (!image.empty()) {
    path += image;
    path += '.';
  }
  path += column;
  return path;
}

Error field_error(std::string reason, std::string_view image, std::string_view column, std::string_view problem) {
  return Error::record(std::move(reason),
                       "field '" + field_path(image, column) + "': " + std::string(problem));
}

std::string quoted_excerpt(std::string_view text) {
  constexpr size_t kMax = 40;
  std::string out = "'";
  out.append(text.substr(0, kMax));
  if (text.size() > kMax) out += "...";
  out += "'";
  return out;
}

std::string_view kind_name(JsonKind kind) {
  switch (kind) {
    case JsonKind::kNull: return "null";
    case JsonKind::kFalse:
    case JsonKind::kTrue: return "a boolean";
    case JsonKind::kNumber: return "a number";
    case JsonKind::kString: return "a string";
    case JsonKind::kObject: return "an object";
    case JsonKind::kArray: return "an array";
  }
  return "?";
}

Error wrong_type(std::string_view image, std::string_view column, std::string_view expected, const JsonNode& n) {
  return field_error("wrong_type", image, column,
                     "expected " + std::string(expected) + ", got " + std::string(kind_name(n.kind)));
}

// `text == word` for a literal word, as a fixed-length compare the compiler
// inlines (std::string_view's operator== calls memcmp for every test).
template <size_t N>
bool is(std::string_view text, const char (&word)[N]) {
  return text.size() == N - 1 && std::memcmp(text.data(), word, N - 1) == 0;
}

bool looks_fractional(std::string_view number) {
  return number.find_first_of(".eE") != std::string_view::npos;
}

// Integer value of a number node (or a numeric string when `allow_string`).
Status read_int(const JsonNode& n, std::string_view image, std::string_view column, int64_t min, int64_t max,
                int64_t& value, bool allow_string = false) {
  if (n.kind != JsonKind::kNumber && !(allow_string && n.kind == JsonKind::kString)) {
    return wrong_type(image, column, "an integer", n);
  }
  if (!parse_int64(n.text, value)) {
    if (n.kind == JsonKind::kNumber && !looks_fractional(n.text)) {
      return field_error("out_of_range", image, column, "integer " + quoted_excerpt(n.text) + " is out of range");
    }
    return field_error("wrong_type", image, column, "expected an integer, got " + quoted_excerpt(n.text));
  }
  if (value < min || value > max) {
    return field_error("out_of_range", image, column,
                       "integer " + quoted_excerpt(n.text) + " is out of range [" + std::to_string(min) + ", " +
                           std::to_string(max) + "]");
  }
  return {};
}

constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

bool is_special_float(std::string_view s) { return s == "NaN" || s == "Infinity" || s == "-Infinity"; }

Status decode_decimal_bytes(std::string_view base64, int32_t scale, std::string_view image, std::string_view column,
                            std::string& out) {
  std::string bytes;
  if (!decode_base64(base64, bytes)) {
    return field_error("invalid_base64", image, column, "decimal value " + quoted_excerpt(base64) + " is not valid base64");
  }
  if (bytes.size() > kMaxDecimalBytes) {
    return field_error("out_of_range", image, column, "decimal value has " + std::to_string(bytes.size()) + " bytes");
  }
  if (!decimal_from_unscaled(bytes, scale, out)) {
    return field_error("out_of_range", image, column,
                       "decimal scale " + std::to_string(scale) + " is outside the range PostgreSQL numeric holds [" +
                           std::to_string(kMinDecimalScale) + ", " + std::to_string(kMaxDecimalScale) + "]");
  }
  return {};
}

// Converts one payload value according to its Connect schema.
Status convert_value(const JsonTree& tree, uint32_t index, const ConnectSchema& s, std::string_view image,
                     std::string_view column, Datum& d) {
  const JsonNode& n = tree.node(index);
  if (n.kind == JsonKind::kNull) {
    if (!s.optional) return field_error("null_not_allowed", image, column, "null in a required field");
    d.null = true;
    return {};
  }
  d.null = false;
  std::string& out = d.text;
  out.clear();
  int64_t v = 0;
  switch (s.kind) {
    case ValueKind::kBoolean:
      if (n.kind == JsonKind::kTrue) {
        out = "true";
      } else if (n.kind == JsonKind::kFalse) {
        out = "false";
      } else {
        return wrong_type(image, column, "a boolean", n);
      }
      return {};
    case ValueKind::kInt8:
      if (auto st = read_int(n, image, column, INT8_MIN, INT8_MAX, v); !st) return st;
      out.assign(n.text);
      return {};
    case ValueKind::kInt16:
      if (auto st = read_int(n, image, column, INT16_MIN, INT16_MAX, v); !st) return st;
      out.assign(n.text);
      return {};
    case ValueKind::kInt32:
      if (auto st = read_int(n, image, column, INT32_MIN, INT32_MAX, v); !st) return st;
      out.assign(n.text);
      return {};
    case ValueKind::kInt64:
      if (auto st = read_int(n, image, column, kInt64Min, kInt64Max, v); !st) return st;
      out.assign(n.text);
      return {};
    case ValueKind::kFloat32:
    case ValueKind::kFloat64: {
      if (n.kind == JsonKind::kString && is_special_float(n.text)) {
        out.assign(n.text);
        return {};
      }
      if (n.kind != JsonKind::kNumber) return wrong_type(image, column, "a number", n);
      double x = 0;
      auto [ptr, ec] = std::from_chars(n.text.data(), n.text.data() + n.text.size(), x);
      bool too_big = ec == std::errc::result_out_of_range && ptr == n.text.data() + n.text.size() &&
                     n.text.find_first_of("eE") != std::string_view::npos &&
                     n.text.find("e-") == std::string_view::npos && n.text.find("E-") == std::string_view::npos;
      if (too_big || (ec == std::errc() && s.kind == ValueKind::kFloat32 && std::fabs(x) >= kFloat32Overflow)) {
        return field_error("out_of_range", image, column,
                           "number " + quoted_excerpt(n.text) + " is out of range for " +
                               (s.kind == ValueKind::kFloat32 ? "float32" : "float64"));
      }
      out.assign(n.text);
      return {};
    }
    case ValueKind::kString:
      if (n.kind != JsonKind::kString) return wrong_type(image, column, "a string", n);
      out.assign(n.text);
      return {};
    case ValueKind::kUuid:
      if (n.kind != JsonKind::kString) return wrong_type(image, column, "a string", n);
      out.assign(n.text);
      for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      }
      return {};
    case ValueKind::kBytes:
      if (n.kind != JsonKind::kString) return wrong_type(image, column, "a base64 string", n);
      if (!decode_base64(n.text, out)) {
        return field_error("invalid_base64", image, column, "value " + quoted_excerpt(n.text) + " is not valid base64");
      }
      return {};
    case ValueKind::kDecimal:
      if (n.kind == JsonKind::kNumber) {
        if (!decimal_from_text(n.text, s.scale, out)) {
          return field_error("wrong_type", image, column, "number " + quoted_excerpt(n.text) + " is not a plain decimal");
        }
        return {};
      }
      if (n.kind != JsonKind::kString) return wrong_type(image, column, "a decimal (base64 string)", n);
      if (is_special_float(n.text)) {
        out.assign(n.text);
        return {};
      }
      if (n.text.find_first_of(".-") != std::string_view::npos && decimal_from_text(n.text, s.scale, out)) {
        return {};
      }
      out.clear();
      return decode_decimal_bytes(n.text, s.scale, image, column, out);
    case ValueKind::kVariableDecimal: {
      if (n.kind == JsonKind::kNumber || n.kind == JsonKind::kString) {
        if (n.kind == JsonKind::kString && is_special_float(n.text)) {
          out.assign(n.text);
          return {};
        }
        if (!decimal_from_text(n.text, 0, out)) {
          return field_error("wrong_type", image, column, "value " + quoted_excerpt(n.text) + " is not a decimal");
        }
        return {};
      }
      if (n.kind != JsonKind::kObject) return wrong_type(image, column, "a {scale, value} object", n);
      uint32_t scale = tree.find(index, "scale");
      uint32_t value = tree.find(index, "value");
      if (scale == JsonTree::kNone) return field_error("missing_field", image, column, "'scale' is missing");
      if (value == JsonTree::kNone) return field_error("missing_field", image, column, "'value' is missing");
      int64_t sc = 0;
      if (auto st = read_int(tree.node(scale), image, column, kMinDecimalScale, kMaxDecimalScale, sc); !st) return st;
      if (tree.node(value).kind != JsonKind::kString) {
        return wrong_type(image, column, "a base64 string in 'value'", tree.node(value));
      }
      return decode_decimal_bytes(tree.node(value).text, static_cast<int32_t>(sc), image, column, out);
    }
    case ValueKind::kDateDays:
      if (auto st = read_int(n, image, column, INT32_MIN, INT32_MAX, v); !st) return st;
      format_date(v, out);
      return {};
    case ValueKind::kTimeMillis:
    case ValueKind::kTimeMicros:
    case ValueKind::kTimeNanos: {
      if (auto st = read_int(n, image, column, kInt64Min, kInt64Max, v); !st) return st;
      int64_t units = s.kind == ValueKind::kTimeMillis ? 1000 : s.kind == ValueKind::kTimeMicros ? 1000000 : 1000000000;
      int digits = s.kind == ValueKind::kTimeNanos ? 9 : 6;
      if (!format_time(v, units, digits, out)) {
        return field_error("out_of_range", image, column, "time of day " + quoted_excerpt(n.text) + " is out of range");
      }
      return {};
    }
    case ValueKind::kTimestampMillis:
    case ValueKind::kTimestampMicros:
    case ValueKind::kTimestampNanos: {
      if (n.kind == JsonKind::kString && (n.text == "infinity" || n.text == "-infinity")) {
        out.assign(n.text);
        return {};
      }
      if (auto st = read_int(n, image, column, kInt64Min, kInt64Max, v); !st) return st;
      int64_t units = s.kind == ValueKind::kTimestampMillis   ? 1000
                      : s.kind == ValueKind::kTimestampMicros ? 1000000
                                                              : 1000000000;
      format_timestamp(v, units, out);
      return {};
    }
    case ValueKind::kMicroDuration:
      if (auto st = read_int(n, image, column, kInt64Min, kInt64Max, v); !st) return st;
      format_micro_duration(v, out);
      return {};
    case ValueKind::kGeometry: {
      if (n.kind != JsonKind::kObject) return wrong_type(image, column, "a {wkb, srid} object", n);
      uint32_t wkb = tree.find(index, "wkb");
      if (wkb == JsonTree::kNone) return field_error("missing_field", image, column, "'wkb' is missing");
      if (tree.node(wkb).kind != JsonKind::kString) return wrong_type(image, column, "a base64 string in 'wkb'", tree.node(wkb));
      if (!decode_base64(tree.node(wkb).text, out)) {
        return field_error("invalid_base64", image, column, "'wkb' is not valid base64");
      }
      uint32_t srid = tree.find(index, "srid");
      d.srid = 0;
      if (srid != JsonTree::kNone && tree.node(srid).kind != JsonKind::kNull) {
        if (auto st = read_int(tree.node(srid), image, column, INT32_MIN, INT32_MAX, v); !st) return st;
        d.srid = static_cast<int32_t>(v);
      }
      // The SRID goes into the bytes (EWKB), so every consumer of the value,
      // and a bytea or PostGIS column, keeps it. 0 is PostGIS's "unknown".
      if (d.srid != 0 && !add_srid_to_wkb(out, d.srid)) {
        return field_error("invalid_geometry", image, column,
                           "'wkb' is not WKB (no byte order mark and type), so SRID " + std::to_string(d.srid) +
                               " cannot be kept");
      }
      return {};
    }
    case ValueKind::kArray:
      if (n.kind != JsonKind::kArray) return wrong_type(image, column, "an array", n);
      tree.write(index, out);
      return {};
    case ValueKind::kMap:
      if (n.kind != JsonKind::kObject && n.kind != JsonKind::kArray) return wrong_type(image, column, "a map", n);
      tree.write(index, out);
      return {};
    case ValueKind::kStruct:
      if (n.kind != JsonKind::kObject) return wrong_type(image, column, "an object", n);
      tree.write(index, out);
      return {};
  }
  return {};
}

Result<Op> parse_op(const JsonNode& n, std::string_view field) {
  if (n.kind != JsonKind::kString) {
    return Error::record("wrong_type", "field '" + std::string(field) + "': expected a string, got " +
                                           std::string(kind_name(n.kind)));
  }
  if (n.text.size() == 1) {
    switch (n.text[0]) {
      case 'c': return Op::kCreate;
      case 'r': return Op::kRead;
      case 'u': return Op::kUpdate;
      case 'd': return Op::kDelete;
      case 't': return Op::kTruncate;
      case 'm': return Op::kMessage;
      default: break;
    }
  }
  return Error::record("unknown_op", "field '" + std::string(field) + "': unknown operation " + quoted_excerpt(n.text));
}

// The source block's fields as they arrive, before the position is chosen.
class SourceFields {
 public:
  explicit SourceFields(std::string_view image) : image_(image) {}

  // Applies one field of the source block; unknown names are ignored.
  Status apply(std::string_view name, const JsonNode& n) {
    if (n.kind == JsonKind::kNull) return {};
    if (is(name, "connector") || is(name, "db") || is(name, "schema") || is(name, "table")) {
      if (n.kind != JsonKind::kString) return wrong_type(image_, name, "a string", n);
      std::string& target = is(name, "connector") ? info_.connector
                            : is(name, "db")      ? info_.db
                            : is(name, "schema")  ? info_.schema
                                                : info_.table;
      target.assign(n.text);
    } else if (is(name, "ts_ms")) {
      if (auto st = read_int(n, image_, name, kInt64Min, kInt64Max, ts_ms_, true); !st) return st;
      has_ts_ = true;
      info_.ts_ms = ts_ms_;
    } else if (is(name, "snapshot")) {
      if (n.kind == JsonKind::kTrue || n.kind == JsonKind::kFalse) {
        info_.snapshot = n.kind == JsonKind::kTrue;
      } else if (n.kind == JsonKind::kString) {
        info_.snapshot = n.text != "false";
      } else {
        return wrong_type(image_, name, "a string or boolean", n);
      }
    } else if (is(name, "lsn")) {
      if (auto st = read_int(n, image_, name, 0, kInt64Max, lsn_, true); !st) return st;
      has_lsn_ = true;
    } else if (is(name, "file")) {
      if (n.kind != JsonKind::kString) return wrong_type(image_, name, "a string", n);
      file_ = n.text;
    } else if (is(name, "pos")) {
      if (auto st = read_int(n, image_, name, 0, kInt64Max, pos_, true); !st) return st;
      has_pos_ = true;
    } else if (is(name, "row")) {
      if (auto st = read_int(n, image_, name, 0, kInt64Max, row_, true); !st) return st;
    } else if (is(name, "commit_lsn") || is(name, "change_lsn")) {
      if (n.kind != JsonKind::kString) return wrong_type(image_, name, "a string", n);
      (is(name, "commit_lsn") ? commit_lsn_ : change_lsn_) = n.text;
    }
    return {};
  }

  SourceInfo finish() {
    SourcePosition& p = info_.position;
    std::array<uint64_t, 2> commit{};
    std::array<uint64_t, 2> change{};
    if (has_lsn_) {
      p.kind = PositionKind::kPostgresLsn;
      p.parts[0] = static_cast<uint64_t>(lsn_);
    } else if (!file_.empty() && has_pos_) {
      p.kind = PositionKind::kMysqlBinlog;
      uint64_t seq = 0;
      size_t dot = file_.rfind('.');
      std::string_view digits = dot == std::string_view::npos ? file_ : file_.substr(dot + 1);
      std::from_chars(digits.data(), digits.data() + digits.size(), seq);
      p.parts = {seq, static_cast<uint64_t>(pos_), static_cast<uint64_t>(row_), 0};
    } else if (!commit_lsn_.empty() && parse_sqlserver_lsn(commit_lsn_, commit)) {
      if (!parse_sqlserver_lsn(change_lsn_, change)) change = {};
      p.kind = PositionKind::kSqlServerLsn;
      p.parts = {commit[0], commit[1], change[0], change[1]};
    } else if (has_ts_) {
      p.kind = PositionKind::kTimestamp;
      p.parts[0] = static_cast<uint64_t>(ts_ms_);
    }
    return std::move(info_);
  }

 private:
  // "0000002a:00000758:0005": 10 bytes; parts = {first 4 bytes, last 6 bytes}.
  static bool parse_sqlserver_lsn(std::string_view text, std::array<uint64_t, 2>& parts) {
    if (text.size() != 22 || text[8] != ':' || text[17] != ':') return false;
    uint64_t a = 0, b = 0, c = 0;
    auto hex = [&](size_t from, size_t len, uint64_t& out) {
      auto [ptr, ec] = std::from_chars(text.data() + from, text.data() + from + len, out, 16);
      return ec == std::errc() && ptr == text.data() + from + len;
    };
    if (!hex(0, 8, a) || !hex(9, 8, b) || !hex(18, 4, c)) return false;
    parts = {a, (b << 16) | c};
    return true;
  }

  std::string_view image_;
  SourceInfo info_;
  bool has_ts_ = false;
  int64_t ts_ms_ = 0;
  bool has_lsn_ = false;
  int64_t lsn_ = 0;
  std::string_view file_;
  bool has_pos_ = false;
  int64_t pos_ = 0;
  int64_t row_ = 0;
  std::string_view commit_lsn_;
  std::string_view change_lsn_;
};

// ExtractNewRecordState's metadata fields ("__op", "__deleted", "__source_ts_ms", ...).
struct FlattenedMetadata {
  std::string_view prefix;
  std::optional<Op> op;
  bool deleted = false;
  bool has_ts = false;
  int64_t ts_ms = 0;
  SourceFields source{"source"};

  Status apply(std::string_view key, const JsonNode& n) {
    std::string_view name = key.substr(prefix.size());
    if (is(name, "op")) {
      if (n.kind == JsonKind::kNull) return {};
      auto parsed = parse_op(n, key);
      if (!parsed) return parsed.take_error();
      op = *parsed;
    } else if (is(name, "deleted")) {
      deleted = n.kind == JsonKind::kTrue || (n.kind == JsonKind::kString && n.text == "true");
    } else if (is(name, "ts_ms")) {
      if (n.kind == JsonKind::kNull) return {};
      if (auto st = read_int(n, "", key, kInt64Min, kInt64Max, ts_ms, true); !st) return st;
      has_ts = true;
    } else if (name.starts_with("source_")) {
      return source.apply(name.substr(7), n);
    } else {
      return source.apply(name, n);
    }
    return {};
  }
};

// Decodes a struct row with its schema.
Status decode_row(const JsonTree& tree, uint32_t object, const ConnectSchema& row_schema,
                  const RecordSchema::RowLayout& layout, std::string_view image, Row& row,
                  FlattenedMetadata* metadata) {
  const JsonNode& obj = tree.node(object);
  if (obj.kind != JsonKind::kObject) {
    return Error::record("wrong_type", "field '" + std::string(image) + "': expected an object, got " +
                                           std::string(kind_name(obj.kind)));
  }
  const auto& columns = layout.schema->columns;
  row.schema = layout.schema;
  row.values.assign(columns.size(), Datum{});
  size_t hint = 0;
  for (uint32_t k = object + 1; k < obj.end; k = tree.node(k + 1).end) {
    std::string_view key = tree.node(k).text;
    if (metadata != nullptr && key.starts_with(metadata->prefix)) {
      if (auto st = metadata->apply(key, tree.node(k + 1)); !st) return st;
      continue;
    }
    size_t c = hint;
    if (c >= columns.size() || columns[c].name != key) {
      c = columns.size();
      for (size_t j = 0; j < columns.size(); ++j) {
        if (columns[j].name == key) {
          c = j;
          break;
        }
      }
      if (c == columns.size()) continue;  // a field the schema does not declare
    }
    hint = c + 1;
    const ConnectSchema& field = row_schema.fields[static_cast<size_t>(layout.fields[c])];
    if (auto st = convert_value(tree, k + 1, field, image, columns[c].name, row.values[c]); !st) return st;
  }
  for (size_t c = 0; c < columns.size(); ++c) {
    // A null required value was rejected by convert_value, so null here means absent.
    if (row.values[c].null && !columns[c].optional) {
      return field_error("missing_field", image, columns[c].name, "required field is missing");
    }
  }
  return {};
}

// Type of a schemaless value, guessed from its JSON form.
FieldType infer_type(const JsonNode& n) {
  switch (n.kind) {
    case JsonKind::kNull:
    case JsonKind::kString: return FieldType::kString;
    case JsonKind::kFalse:
    case JsonKind::kTrue: return FieldType::kBoolean;
    case JsonKind::kNumber: {
      // One pass over the text (the parser checked its grammar).
      bool fraction = false;
      for (char c : n.text) {
        if (c == 'e' || c == 'E') return FieldType::kFloat64;
        fraction = fraction || c == '.';
      }
      if (fraction) return FieldType::kVariableDecimal;
      int64_t v = 0;
      return parse_int64(n.text, v) ? FieldType::kInt64 : FieldType::kVariableDecimal;
    }
    case JsonKind::kObject:
    case JsonKind::kArray: return FieldType::kJson;
  }
  return FieldType::kString;
}

void infer_value(const JsonTree& tree, uint32_t index, Datum& d) {
  const JsonNode& n = tree.node(index);
  d.text.clear();
  d.null = n.kind == JsonKind::kNull;
  switch (n.kind) {
    case JsonKind::kNull: break;
    case JsonKind::kFalse: d.text = "false"; break;
    case JsonKind::kTrue: d.text = "true"; break;
    case JsonKind::kNumber:
    case JsonKind::kString: d.text.assign(n.text); break;
    case JsonKind::kObject:
    case JsonKind::kArray: tree.write(index, d.text); break;
  }
}

// Builds a row from a schemaless value: an object's members, or one column
// "key" for a scalar. Reuses `last` when the columns are unchanged.
void infer_row(const JsonTree& tree, uint32_t index, std::shared_ptr<const RowSchema>& last, Row& row,
               FlattenedMetadata* metadata, Status& status) {
  const JsonNode& n = tree.node(index);
  struct Member {
    std::string_view name;
    FieldType type;
    uint32_t value;
  };
  thread_local std::vector<Member> members;
  members.clear();
  if (n.kind == JsonKind::kObject) {
    for (uint32_t k = index + 1; k < n.end; k = tree.node(k + 1).end) {
      std::string_view key = tree.node(k).text;
      if (metadata != nullptr && key.starts_with(metadata->prefix)) {
        if (auto st = metadata->apply(key, tree.node(k + 1)); !st) {
          status = std::move(st);
          return;
        }
        continue;
      }
      members.push_back(Member{key, infer_type(tree.node(k + 1)), k + 1});
    }
  } else {
    members.push_back(Member{"key", infer_type(n), index});
  }
  bool same = last && last->columns.size() == members.size();
  for (size_t i = 0; same && i < members.size(); ++i) {
    same = last->columns[i].name == members[i].name && last->columns[i].type == members[i].type;
  }
  if (!same) {
    auto schema = std::make_shared<RowSchema>();
    for (const Member& m : members) {
      Column c;
      c.name = std::string(m.name);
      c.type = m.type;
      c.inferred = true;
      schema->columns.push_back(std::move(c));
    }
    last = std::move(schema);
  }
  row.schema = last;
  row.values.resize(members.size());
  for (size_t i = 0; i < members.size(); ++i) infer_value(tree, members[i].value, row.values[i]);
}

size_t skip_space(std::string_view s, size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
  return i;
}

// Consumes `token` at `i` (after whitespace); npos when absent.
size_t expect(std::string_view s, size_t i, std::string_view token) {
  i = skip_space(s, i);
  if (s.substr(i, token.size()) != token) return std::string_view::npos;
  return i + token.size();
}

// Offset of the value of a leading "schema" member: {"schema": HERE, or npos.
size_t schema_value_offset(std::string_view s) {
  size_t i = expect(s, 0, "{");
  if (i != std::string_view::npos) i = expect(s, i, "\"schema\"");
  if (i != std::string_view::npos) i = expect(s, i, ":");
  if (i == std::string_view::npos) return i;
  return skip_space(s, i);
}

// The text of the payload value when `s` continues at `i` with
// , "payload": VALUE } and nothing else; empty otherwise. VALUE is checked by
// the parser, which rejects anything that is not exactly one JSON value.
std::string_view payload_after_schema(std::string_view s, size_t i) {
  i = expect(s, i, ",");
  if (i != std::string_view::npos) i = expect(s, i, "\"payload\"");
  if (i != std::string_view::npos) i = expect(s, i, ":");
  if (i == std::string_view::npos) return {};
  i = skip_space(s, i);
  size_t end = s.size();
  while (end > i && (s[end - 1] == ' ' || s[end - 1] == '\n' || s[end - 1] == '\r' || s[end - 1] == '\t')) --end;
  if (end <= i + 1 || s[end - 1] != '}') return {};
  --end;
  while (end > i && (s[end - 1] == ' ' || s[end - 1] == '\n' || s[end - 1] == '\r' || s[end - 1] == '\t')) --end;
  return s.substr(i, end - i);
}

bool is_null_text(std::string_view text) {
  if (!text.empty() && text.front() == '{') return false;  // every event: no scan from the end
  size_t b = text.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return false;
  size_t e = text.find_last_not_of(" \t\r\n");
  return text.substr(b, e - b + 1) == "null";
}

}  // namespace

DebeziumDecoder::DebeziumDecoder(const DecoderConfig& config) : config_(config) {}

Result<DebeziumDecoder::Document> DebeziumDecoder::parse_document(std::string_view text, JsonTree& tree,
                                                                  std::string_view what) {
  Document doc;
  // Fast path: the record starts with a schema we have seen; no scan, no hash.
  if (size_t at = schema_value_offset(text); at != std::string_view::npos) {
    size_t length = 0;
    if (auto schema = cache_.find_prefix(text.substr(at), length)) {
      std::string_view payload = payload_after_schema(text, at + length);
      if (!payload.empty()) {
        doc.schema = std::move(schema);
        if (auto st = tree.parse(payload, config_.max_nesting_depth - 1, std::string(what) + " payload"); !st) {
          return st.take_error();
        }
        doc.null_payload = tree.node(tree.root()).kind == JsonKind::kNull;
        return doc;
      }
    }
  }
  ConnectEnvelopeSpan span = scan_connect_envelope(text);
  // The parts are one level below the record's root.
  int inner_depth = config_.max_nesting_depth - 1;
  if (span.extra_members) {
    return Error::record("malformed_json", std::string(what) +
                                               ": a JsonConverter record has members other than 'schema' and 'payload'");
  }
  if (!span.found) {
    if (auto st = tree.parse(text, config_.max_nesting_depth, what); !st) return st.take_error();
    return doc;
  }
  if (span.schema != "null") {
    size_t hash = std::hash<std::string_view>{}(span.schema);
    doc.schema = cache_.find(span.schema, hash);
    if (!doc.schema) {
      std::string schema_what = std::string(what) + " schema";
      if (auto st = schema_tree_.parse(span.schema, inner_depth, schema_what); !st) return st.take_error();
      auto parsed = parse_connect_schema(schema_tree_, schema_tree_.root(), std::max(inner_depth, 1));
      if (!parsed) {
        Error e = parsed.take_error();
        e.message = std::string(what) + " " + e.message;
        return e;
      }
      doc.schema = make_record_schema(std::move(*parsed), config_.flattened_prefix);
      cache_.insert(span.schema, hash, doc.schema);
    }
  }
  std::string payload_what = std::string(what) + " payload";
  if (auto st = tree.parse(span.payload, inner_depth, payload_what); !st) return st.take_error();
  doc.null_payload = tree.node(tree.root()).kind == JsonKind::kNull;
  return doc;
}

Status DebeziumDecoder::decode_key(std::string_view text, ChangeEvent& event) {
  auto doc = parse_document(text, key_tree_, "key");
  if (!doc) return doc.take_error();
  if (doc->null_payload || key_tree_.node(key_tree_.root()).kind == JsonKind::kNull) return {};
  Row row;
  const RecordSchema* schema = doc->schema.get();
  if (schema == nullptr) {
    Status status;
    infer_row(key_tree_, key_tree_.root(), inferred_key_, row, nullptr, status);
    if (!status) return status;
  } else if (schema->shape == RecordSchema::Shape::kScalar) {
    row.schema = schema->row.schema;
    row.values.resize(1);
    if (auto st = convert_value(key_tree_, key_tree_.root(), schema->root, "key", "key", row.values[0]); !st) return st;
  } else if (schema->shape == RecordSchema::Shape::kRow) {
    if (auto st = decode_row(key_tree_, key_tree_.root(), schema->root, schema->row, "key", row, nullptr); !st) return st;
  } else {
    return Error::record("wrong_type", "key: a Debezium envelope is not a valid key");
  }
  event.key = std::move(row);
  return {};
}

Status DebeziumDecoder::decode_value(const Document& doc, const std::vector<RecordHeader>& headers,
                                     ChangeEvent& event) {
  const JsonTree& tree = value_tree_;
  const uint32_t root = tree.root();
  const JsonNode& payload = tree.node(root);
  const RecordSchema* schema = doc.schema.get();
  if (payload.kind != JsonKind::kObject) {
    return Error::record("wrong_type", std::string("value: expected a JSON object, got ") +
                                           std::string(kind_name(payload.kind)));
  }
  bool envelope = false;
  if (schema != nullptr) {
    envelope = schema->shape == RecordSchema::Shape::kEnvelope;
    if (schema->shape == RecordSchema::Shape::kScalar) {
      return Error::record("wrong_type", "value: schema is not a struct");
    }
  } else {
    // A row is flattened unless it has the envelope's "op", or "source" with an image.
    envelope = tree.find(root, "op") != JsonTree::kNone ||
               (tree.find(root, "source") != JsonTree::kNone &&
                (tree.find(root, "after") != JsonTree::kNone || tree.find(root, "before") != JsonTree::kNone));
  }

  if (!envelope) {
    FlattenedMetadata meta;
    meta.prefix = config_.flattened_prefix;
    Row row;
    if (schema != nullptr) {
      if (auto st = decode_row(tree, root, schema->root, schema->row, "", row, &meta); !st) return st;
    } else {
      Status status;
      infer_row(tree, root, inferred_after_, row, &meta, status);
      if (!status) return status;
    }
    // ExtractNewRecordState's add.headers puts the metadata in headers ("__op", ...).
    for (const RecordHeader& header : headers) {
      if (!header.value || !header.key.starts_with(meta.prefix)) continue;
      std::string_view name = header.key.substr(meta.prefix.size());
      bool wanted = (is(name, "op") && !meta.op) || (is(name, "deleted") && !meta.deleted);
      if (!wanted) continue;
      // Header values are JSON (JsonConverter) or plain text (StringConverter).
      std::string_view text = *header.value;
      if (text.size() >= 2 && text.front() == '"' && text.back() == '"') text = text.substr(1, text.size() - 2);
      JsonNode node{JsonKind::kString, 0, text};
      if (is(name, "deleted") && text == "true") node.kind = JsonKind::kTrue;
      if (auto st = meta.apply(header.key, node); !st) return st;
    }
    if (meta.has_ts) event.ts_ms = meta.ts_ms;
    event.source = meta.source.finish();
    if (meta.deleted || meta.op == Op::kDelete) {
      event.op = Op::kDelete;
      event.before = std::move(row);
    } else {
      event.op = meta.op.value_or(Op::kCreate);
      event.after = std::move(row);
    }
    return {};
  }

  uint32_t op = JsonTree::kNone;
  uint32_t before = JsonTree::kNone;
  uint32_t after = JsonTree::kNone;
  SourceFields source("source");
  for (uint32_t k = root + 1; k < payload.end; k = tree.node(k + 1).end) {
    std::string_view key = tree.node(k).text;
    const JsonNode& v = tree.node(k + 1);
    if (is(key, "op")) {
      op = k + 1;
    } else if (is(key, "before")) {
      before = k + 1;
    } else if (is(key, "after")) {
      after = k + 1;
    } else if (is(key, "ts_ms")) {
      if (v.kind != JsonKind::kNull) {
        if (auto st = read_int(v, "", "ts_ms", kInt64Min, kInt64Max, event.ts_ms); !st) return st;
      }
    } else if (is(key, "source")) {
      if (v.kind == JsonKind::kNull) continue;
      if (v.kind != JsonKind::kObject) return wrong_type("", "source", "an object", v);
      for (uint32_t s = k + 2; s < v.end; s = tree.node(s + 1).end) {
        if (auto st = source.apply(tree.node(s).text, tree.node(s + 1)); !st) return st;
      }
    }
  }
  if (op == JsonTree::kNone) return Error::record("missing_field", "field 'op' is missing");
  auto parsed_op = parse_op(tree.node(op), "op");
  if (!parsed_op) return parsed_op.take_error();
  event.op = *parsed_op;
  event.source = source.finish();

  auto decode_image = [&](uint32_t index, std::string_view image, const RecordSchema::RowLayout* layout,
                          std::shared_ptr<const RowSchema>& last, std::optional<Row>& target) -> Status {
    if (index == JsonTree::kNone || tree.node(index).kind == JsonKind::kNull) return {};
    Row row;
    if (schema != nullptr) {
      if (layout->struct_field < 0) return {};  // the schema declares no such image
      const ConnectSchema& s = schema->root.fields[static_cast<size_t>(layout->struct_field)];
      if (auto st = decode_row(tree, index, s, *layout, image, row, nullptr); !st) return st;
    } else {
      if (tree.node(index).kind != JsonKind::kObject) return wrong_type("", image, "an object", tree.node(index));
      Status status;
      infer_row(tree, index, last, row, nullptr, status);
      if (!status) return status;
    }
    target = std::move(row);
    return {};
  };
  if (auto st = decode_image(before, "before", schema ? &schema->before : nullptr, inferred_before_, event.before); !st) {
    return st;
  }
  if (auto st = decode_image(after, "after", schema ? &schema->after : nullptr, inferred_after_, event.after); !st) {
    return st;
  }
  switch (event.op) {
    case Op::kCreate:
    case Op::kRead:
    case Op::kUpdate:
      if (!event.after) {
        return Error::record("missing_after", "field 'after' is " +
                                                  std::string(after == JsonTree::kNone ? "missing" : "null") +
                                                  " in a '" + std::string(to_string(event.op)) + "' event");
      }
      break;
    case Op::kDelete:
      if (!event.before && !event.key) {
        return Error::record("missing_key", "delete event has neither a key nor a 'before' image");
      }
      break;
    case Op::kTruncate:
    case Op::kMessage: break;
  }
  return {};
}

Result<ChangeEvent> DebeziumDecoder::decode(const RawRecord& record) {
  size_t bytes = (record.key ? record.key->size() : 0) + (record.value ? record.value->size() : 0);
  if (bytes > config_.max_record_bytes) {
    return Error::record("record_too_large", "record of " + std::to_string(bytes) + " bytes exceeds max_record_bytes " +
                                                 std::to_string(config_.max_record_bytes));
  }
  ChangeEvent event;
  if (record.lineage) {
    event.origin.topic = record.lineage->topic;
    event.origin.partition = record.lineage->partition;
    event.origin.offset = record.lineage->offset;
  } else {
    event.origin.topic.assign(record.topic);
    event.origin.partition = record.partition;
    event.origin.offset = record.offset;
  }
  event.origin.timestamp_ms = record.timestamp_ms;
  if (record.key && !record.key->empty() && !is_null_text(*record.key)) {
    if (auto st = decode_key(*record.key, event); !st) return st.take_error();
  }
  bool tombstone = !record.value || record.value->empty() || is_null_text(*record.value);
  Document doc;
  if (!tombstone) {
    auto parsed = parse_document(*record.value, value_tree_, "value");
    if (!parsed) return parsed.take_error();
    doc = std::move(*parsed);
    tombstone = doc.null_payload;
  }
  if (tombstone) {
    if (!event.key) return Error::record("missing_key", "tombstone (null value) without a key");
    event.op = Op::kDelete;
    event.tombstone = true;
    return event;
  }
  if (auto st = decode_value(doc, record.headers, event); !st) return st.take_error();
  return event;
}

}  // namespace sluice
