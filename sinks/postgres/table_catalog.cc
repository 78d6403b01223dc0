#include "sinks/postgres/table_catalog.h"

#include "core/logging.h"

#include <algorithm>
#include <charconv>
#include <system_error>

namespace sluice::pg {
namespace {

std::string element_type_for(FieldType type) {
  Column element;
  element.type = type;
  return pg_type_for(element);
}

int integer_rank(std::string_view type) {
  if (type == "smallint") return 1;
  if (type == "integer") return 2;
  if (type == "bigint") return 3;
  return 0;
}

// The n of "character varying(n)", or -1.
int varchar_length(std::string_view type) {
  constexpr std::string_view kPrefix = "character varying(";
  if (type.substr(0, kPrefix.size()) != kPrefix) return -1;
  int n = -1;
  std::from_chars(type.data() + kPrefix.size(), type.data() + type.size(), n);
  return n;
}

// The p and s of "numeric(p,s)"; false for other types.
bool numeric_precision(std::string_view type, int& precision, int& scale) {
  constexpr std::string_view kPrefix = "numeric(";
  if (type.substr(0, kPrefix.size()) != kPrefix) return false;
  const char* end = type.data() + type.size();
  auto [comma, ec] = std::from_chars(type.data() + kPrefix.size(), end, precision);
  if (ec != std::errc() || comma == end || *comma != ',') return false;
  return std::from_chars(comma + 1, end, scale).ec == std::errc();
}

// The type `current` must become to hold `desired` without loss, or "" when it
// already does (or when no safe widening exists).
std::string widened_type(const TableColumn& current, const DesiredColumn& desired) {
  if (!desired.may_widen) return "";
  if (integer_rank(current.type) > 0 && integer_rank(desired.type) > integer_rank(current.type)) return desired.type;
  if (int have = varchar_length(current.type); have > 0) {
    int want = std::max(varchar_length(desired.type), desired.length);
    if (want > have) return "character varying(" + std::to_string(want) + ")";
  }
  int have_precision = 0, have_scale = 0, want_precision = 0, want_scale = 0;
  if (numeric_precision(current.type, have_precision, have_scale) &&
      numeric_precision(desired.type, want_precision, want_scale)) {
    int integer_digits = std::max(have_precision - have_scale, want_precision - want_scale);
    int scale = std::max(have_scale, want_scale);
    if (integer_digits + scale > have_precision || scale > have_scale) {
      return "numeric(" + std::to_string(integer_digits + scale) + "," + std::to_string(scale) + ")";
    }
  }
  return "";
}

}  // namespace

const TableColumn* TableSchema::find(std::string_view name) const {
  for (const TableColumn& column : columns) {
    if (column.name == name) return &column;
  }
  return nullptr;
}

std::string pg_type_for(const Column& column) {
  switch (column.type) {
    case FieldType::kBoolean: return "boolean";
    case FieldType::kInt8:
    case FieldType::kInt16: return "smallint";
    case FieldType::kInt32: return "integer";
    case FieldType::kInt64: return "bigint";
    case FieldType::kFloat32: return "real";
    case FieldType::kFloat64: return "double precision";
    case FieldType::kString: return "text";
    case FieldType::kBytes: return "bytea";
    case FieldType::kDecimal:
      if (column.precision > 0 && column.scale >= 0 && column.scale <= column.precision) {
        return "numeric(" + std::to_string(column.precision) + "," + std::to_string(column.scale) + ")";
      }
      return "numeric";
    case FieldType::kVariableDecimal: return "numeric";
    case FieldType::kDate: return "date";
    case FieldType::kTime: return "time without time zone";
    case FieldType::kTimeTz: return "time with time zone";
    case FieldType::kTimestamp: return "timestamp without time zone";
    case FieldType::kTimestampTz: return "timestamp with time zone";
    case FieldType::kInterval: return "interval";
    case FieldType::kJson: return "jsonb";
    case FieldType::kUuid: return "uuid";
    case FieldType::kXml: return "xml";
    case FieldType::kEnum:
    case FieldType::kEnumSet: return "text";
    case FieldType::kBits: return "bytea";
    case FieldType::kYear: return "integer";
    case FieldType::kGeometry: return "bytea";
    case FieldType::kArray:
      switch (column.element_type) {
        case FieldType::kArray:
        case FieldType::kMap:
        case FieldType::kStruct: return "jsonb";
        default: return element_type_for(column.element_type) + "[]";
      }
    case FieldType::kMap:
    case FieldType::kStruct: return "jsonb";
  }
  return "text";
}

std::string quoted_table(const TableName& table) {
  if (table.schema.empty()) return quote_identifier(table.name);
  return quote_identifier(table.schema) + "." + quote_identifier(table.name);
}

Result<std::optional<TableSchema>> TableCatalog::find(const TableName& table) {
  auto cached = cache_.find(table);
  if (cached != cache_.end()) return std::optional<TableSchema>(cached->second);
  return load(table);
}

Result<std::optional<TableSchema>> TableCatalog::load(const TableName& table) {
  std::string regclass = quoted_table(table);
  auto columns = connection_->exec_params(
      "SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typcategory = 'A', a.atttypid = 'bytea'::regtype, "
      "coalesce((SELECT a.attnum = ANY (i.indkey) FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisprimary), "
      "false), t.typname IN ('geometry', 'geography') "
      "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
      "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
      {regclass.c_str()});
  if (!columns) return columns.take_error();
  PGresult* rows = columns->get();
  if (PQntuples(rows) == 0) {
    auto exists = connection_->exec_params("SELECT to_regclass($1) IS NOT NULL", {regclass.c_str()});
    if (!exists) return exists.take_error();
    if (std::string_view(PQgetvalue(exists->get(), 0, 0)) != "t") return std::optional<TableSchema>();
  }
  TableSchema schema;
  for (int r = 0; r < PQntuples(rows); ++r) {
    TableColumn column{PQgetvalue(rows, r, 0), PQgetvalue(rows, r, 1),
                       std::string_view(PQgetvalue(rows, r, 2)) == "t",
                       std::string_view(PQgetvalue(rows, r, 3)) == "t"};
    if (int precision = 0, scale = 0; numeric_precision(column.type, precision, scale)) column.numeric_scale = scale;
    column.geometry = std::string_view(PQgetvalue(rows, r, 5)) == "t";
    if (std::string_view(PQgetvalue(rows, r, 4)) == "t") schema.primary_key.push_back(column.name);
    schema.columns.push_back(std::move(column));
  }
  cache_[table] = schema;
  return std::optional<TableSchema>(std::move(schema));
}

Result<TableSchema> TableCatalog::evolve(const TableName& table, const std::vector<DesiredColumn>& desired,
                                         const std::vector<std::string>& primary_key) {
  const std::string name = quoted_table(table);
  // Another sluice (of the same group on other partitions) may evolve the
  // same table at the same moment: one CREATE would fail with 42P07. So DDL
  // is serialized per table by a transaction-level advisory lock, under which
  // the table is looked at again before changing it.
  bool locked = false;
  for (;;) {
    auto found = find(table);
    if (!found) return found.take_error();
    std::string ddl = found->has_value() ? alter_sql(name, **found, desired) : create_sql(name, desired, primary_key);
    if (ddl.empty()) return **found;
    if (!locked) {
      auto lock = connection_->exec("SELECT pg_advisory_xact_lock(hashtext(" +
                                    connection_->quote_literal("sluice ddl " + name) + "))");
      if (!lock) return lock.take_error();
      locked = true;
      cache_.erase(table);
      continue;
    }
    if (!found->has_value() && !table.schema.empty()) {
      auto schema_created = connection_->exec("CREATE SCHEMA IF NOT EXISTS " + quote_identifier(table.schema));
      if (!schema_created) return schema_created.take_error();
    }
    auto changed = connection_->exec(ddl);
    if (!changed) return changed.take_error();
    if (found->has_value()) {
      logging::get("postgres")->info("evolved table {}: {}", table.display(), ddl);
    } else {
      logging::get("postgres")->info("created table {} with {} columns", table.display(), desired.size());
    }
    cache_.erase(table);
    break;
  }
  auto reloaded = load(table);
  if (!reloaded) return reloaded.take_error();
  if (!reloaded->has_value()) return Error::fatal("table_missing", "table " + table.display() + " vanished");
  return std::move(**reloaded);
}

std::string TableCatalog::create_sql(const std::string& name, const std::vector<DesiredColumn>& desired,
                                     const std::vector<std::string>& primary_key) {
  std::string sql = "CREATE TABLE " + name + " (";
  for (size_t i = 0; i < desired.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += quote_identifier(desired[i].name) + " " + desired[i].type;
  }
  if (!primary_key.empty()) {
    sql += ", PRIMARY KEY (";
    for (size_t i = 0; i < primary_key.size(); ++i) {
      if (i > 0) sql += ", ";
      sql += quote_identifier(primary_key[i]);
    }
    sql += ")";
  }
  return sql + ")";
}

std::string TableCatalog::alter_sql(const std::string& name, const TableSchema& existing,
                                    const std::vector<DesiredColumn>& desired) {
  std::string alter;
  for (const DesiredColumn& column : desired) {
    const TableColumn* current = existing.find(column.name);
    std::string clause;
    if (current == nullptr) {
      clause = "ADD COLUMN " + quote_identifier(column.name) + " " + column.type;
    } else if (std::string type = widened_type(*current, column); !type.empty()) {
      clause = "ALTER COLUMN " + quote_identifier(column.name) + " TYPE " + type;
    }
    if (clause.empty()) continue;
    alter += alter.empty() ? "ALTER TABLE " + name + " " : ", ";
    alter += clause;
  }
  return alter;
}

}  // namespace sluice::pg
