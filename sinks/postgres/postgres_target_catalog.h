// PostgresTargetCatalog: the TargetCatalog of PostgreSQL tables, read from
// pg_catalog on its own connection (the sink's connection belongs to the
// apply thread), so validators on the decoding thread can check that values
// fit their columns. Thread-safe: describe() serialises on a mutex.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "sinks/postgres/connection.h"
#include "sluice/config.h"
#include "sluice/target_catalog.h"

namespace sluice::pg {

// A column as the catalog describes it, from format_type() text
// ("character varying(10)", "numeric(12,2)", "smallint", ...).
TargetColumn target_column_from(std::string name, std::string type, bool not_null);

class PostgresTargetCatalog final : public TargetCatalog {
 public:
  // Connects on first use, and again after a lost connection.
  explicit PostgresTargetCatalog(ConnectionConfig connection) : config_(std::move(connection)) {}

  Result<std::optional<TargetTable>> describe(const TableName& table) override;

 private:
  ConnectionConfig config_;
  std::mutex mutex_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace sluice::pg
