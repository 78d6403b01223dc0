#include "sinks/postgres/postgres_target_catalog.h"

#include <charconv>

#include "sinks/postgres/table_catalog.h"
#include "sluice/identifier.h"

namespace sluice::pg {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// The integers in "(a)" or "(a,b)" after `prefix`; false when absent.
bool modifiers(std::string_view type, std::string_view prefix, int32_t& a, int32_t& b) {
  if (!starts_with(type, prefix) || type.size() < prefix.size() + 2 || type.back() != ')') return false;
  const char* p = type.data() + prefix.size() + 1;  // after '('
  const char* end = type.data() + type.size() - 1;
  auto first = std::from_chars(p, end, a);
  if (first.ec != std::errc()) return false;
  if (first.ptr == end) return true;
  if (*first.ptr != ',') return false;
  return std::from_chars(first.ptr + 1, end, b).ec == std::errc();
}

}  // namespace

TargetColumn target_column_from(std::string name, std::string type, bool not_null) {
  TargetColumn column;
  column.name = std::move(name);
  column.not_null = not_null;
  std::string_view t = type;
  int32_t a = -1, b = 0;
  if (t == "smallint") {
    column.kind = TargetColumn::Kind::kSmallint;
  } else if (t == "integer") {
    column.kind = TargetColumn::Kind::kInteger;
  } else if (t == "bigint") {
    column.kind = TargetColumn::Kind::kBigint;
  } else if (t == "numeric") {
    column.kind = TargetColumn::Kind::kNumeric;
  } else if (modifiers(t, "numeric", a, b)) {
    column.kind = TargetColumn::Kind::kNumeric;
    column.precision = a;
    column.scale = b;
  } else if (t == "character varying") {
    column.kind = TargetColumn::Kind::kVarchar;
  } else if (modifiers(t, "character varying", a, b)) {
    column.kind = TargetColumn::Kind::kVarchar;
    column.length = a;
  } else if (modifiers(t, "character", a, b)) {
    column.kind = TargetColumn::Kind::kChar;
    column.length = a;
  }
  column.type = std::move(type);
  return column;
}

Result<std::optional<TargetTable>> PostgresTargetCatalog::describe(const TableName& table) {
  std::lock_guard lock(mutex_);
  if (!connection_ || !connection_->healthy()) {
    connection_.reset();
    auto opened = Connection::open(config_);
    if (!opened) return opened.take_error();
    connection_ = std::move(*opened);
  }
  // PostgreSQL would truncate such a name and could find another table; no
  // table can have it (the sink rejects its events).
  if ((!table.schema.empty() && identifier_problem(table.schema)) || identifier_problem(table.name)) {
    return std::optional<TargetTable>();
  }
  std::string regclass = quoted_table(table);
  auto exists = connection_->exec_params("SELECT to_regclass($1) IS NOT NULL", {regclass.c_str()});
  if (!exists) return exists.take_error();
  if (std::string_view(PQgetvalue(exists->get(), 0, 0)) != "t") return std::optional<TargetTable>();
  auto columns = connection_->exec_params(
      "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
      "coalesce((SELECT a.attnum = ANY (i.indkey) FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisprimary), "
      "false) "
      "FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped "
      "ORDER BY a.attnum",
      {regclass.c_str()});
  if (!columns) return columns.take_error();
  PGresult* rows = columns->get();
  TargetTable out;
  for (int r = 0; r < PQntuples(rows); ++r) {
    TargetColumn column = target_column_from(PQgetvalue(rows, r, 0), PQgetvalue(rows, r, 1),
                                             std::string_view(PQgetvalue(rows, r, 2)) == "t");
    if (std::string_view(PQgetvalue(rows, r, 3)) == "t") out.primary_key.push_back(column.name);
    out.columns.push_back(std::move(column));
  }
  return std::optional<TargetTable>(std::move(out));
}

}  // namespace sluice::pg
