// TableCatalog: what the sink knows about its target tables (columns, types,
// primary key), read from pg_catalog once per table and cached, plus the basic
// schema evolution (create missing tables, add missing columns, widen types).
// Used by one thread at a time, with the sink's connection.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sinks/postgres/connection.h"
#include "sluice/change_event.h"
#include "sluice/result.h"
#include "sluice/types.h"

namespace sluice::pg {

struct TableColumn {
  std::string name;
  std::string type;    // format_type() text: "bigint", "numeric(12,2)", "text[]"
  bool array = false;  // an array type (typcategory 'A')
  bool bytea = false;
  // PostGIS geometry or geography (known by the type's name, so PostGIS need
  // not be installed where sluice is built or tested): takes hex EWKB text.
  bool geometry = false;
  // s of numeric(p,s), negative too (numeric(5,-2) holds multiples of 100);
  // empty for other types and unconstrained numeric.
  std::optional<int32_t> numeric_scale;
};

struct TableSchema {
  std::vector<TableColumn> columns;
  std::vector<std::string> primary_key;

  const TableColumn* find(std::string_view name) const;
};

// A column the sink wants to write, with the type it would create.
struct DesiredColumn {
  std::string name;
  std::string type;  // PostgreSQL type for CREATE/ADD COLUMN
  // False for inferred (schemaless) columns: an existing column keeps its type.
  bool may_widen = true;
  // Declared string length from the source (Column::precision), or -1: widens
  // an existing varchar(n) column.
  int32_t length = -1;
};

// The PostgreSQL type a change event column maps to when the sink creates it.
std::string pg_type_for(const Column& column);

// "schema"."name" (or "name"), every part quoted.
std::string quoted_table(const TableName& table);

class TableCatalog {
 public:
  explicit TableCatalog(Connection* connection) : connection_(connection) {}

  // The table's schema (cached), or nullopt when it does not exist.
  Result<std::optional<TableSchema>> find(const TableName& table);

  // Makes `table` hold every desired column: creates the table (primary key
  // `primary_key`, in that order) or adds missing columns as nullable, and
  // widens integer, varchar and numeric(p,s) columns narrower than desired
  // (and creates the table's schema when missing), under an advisory lock
  // per table that serialises this with other sessions. Never
  // drops or renames. Runs inside the caller's transaction.
  Result<TableSchema> evolve(const TableName& table, const std::vector<DesiredColumn>& desired,
                             const std::vector<std::string>& primary_key);

  // Forgets everything (after a rollback or reconnect).
  void clear() { cache_.clear(); }
  void set_connection(Connection* connection) {
    connection_ = connection;
    cache_.clear();
  }

 private:
  Result<std::optional<TableSchema>> load(const TableName& table);
  // The DDL that makes the table hold `desired`; empty when it does.
  static std::string create_sql(const std::string& name, const std::vector<DesiredColumn>& desired,
                                const std::vector<std::string>& primary_key);
  static std::string alter_sql(const std::string& name, const TableSchema& existing,
                               const std::vector<DesiredColumn>& desired);

  Connection* connection_;
  std::map<TableName, TableSchema> cache_;
};

}  // namespace sluice::pg
