// TargetCatalog: what the sink knows about the columns of its target tables
// (type, declared length, numeric precision and scale, NOT NULL, primary key),
// so validators can reject a value the column cannot hold with a clear reason
// instead of failing a batch in the target. Implementations: sinks/postgres
// (PostgresTargetCatalog). describe() is safe to call from several threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/result.h"
#include "sluice/types.h"

namespace sluice {

struct TargetColumn {
  enum class Kind : uint8_t {
    kOther,     // no value-size limit sluice checks (text, jsonb, timestamp, ...)
    kVarchar,   // character varying(length); length -1 when unbounded
    kChar,      // character(length)
    kSmallint,  // 16-bit integer
    kInteger,   // 32-bit integer
    kBigint,    // 64-bit integer
    kNumeric,   // numeric(precision, scale); precision -1 when unconstrained
  };

  std::string name;
  Kind kind = Kind::kOther;
  std::string type;        // the target's own spelling, for messages: "numeric(5,2)"
  int32_t length = -1;     // kVarchar, kChar: characters
  int32_t precision = -1;  // kNumeric
  int32_t scale = -1;      // kNumeric
  bool not_null = false;
};

struct TargetTable {
  std::vector<TargetColumn> columns;
  std::vector<std::string> primary_key;

  const TargetColumn* find(std::string_view name) const {
    for (const TargetColumn& column : columns) {
      if (column.name == name) return &column;
    }
    return nullptr;
  }
};

class TargetCatalog {
 public:
  virtual ~TargetCatalog() = default;

  // The current columns of `table`, or nullopt when it does not exist (yet).
  // kTransient when the target cannot be reached.
  virtual Result<std::optional<TargetTable>> describe(const TableName& table) = 0;
};

}  // namespace sluice
