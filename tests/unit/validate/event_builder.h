// Small builders of change events for the validator and masker tests.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sluice/change_event.h"

namespace sluice::validate::testing {

struct Field {
  std::string name;
  FieldType type;
  std::optional<std::string> value;  // nullopt: null
  int32_t precision = -1;
  int32_t scale = -1;
};

inline Row row(const std::vector<Field>& fields) {
  auto schema = std::make_shared<RowSchema>();
  Row out;
  for (const Field& f : fields) {
    Column column{f.name, f.type};
    column.precision = f.precision;
    column.scale = f.scale;
    schema->columns.push_back(column);
    out.values.push_back(f.value ? Datum::of(*f.value) : Datum{});
  }
  out.schema = std::move(schema);
  return out;
}

// A row with the same schema object as `like` (as the decoder's schema cache gives).
inline Row same_schema(const Row& like, const std::vector<std::optional<std::string>>& values) {
  Row out;
  out.schema = like.schema;
  for (const auto& v : values) out.values.push_back(v ? Datum::of(*v) : Datum{});
  return out;
}

inline ChangeEvent event(Op op, std::optional<Row> key, std::optional<Row> after, const std::string& table = "orders") {
  ChangeEvent e;
  e.op = op;
  e.origin.topic = "dbserver1.inventory.orders";
  e.key = std::move(key);
  e.after = std::move(after);
  e.table = TableName{"", table};
  return e;
}

}  // namespace sluice::validate::testing
