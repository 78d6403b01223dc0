// A builder of one batch of change events of table "orders" keyed by "id", at
// PostgreSQL lsns, and the plans the sink makes of it: for the pure planner
// unit tests, which need no connection. Not thread-safe (test thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sinks/postgres/table_plan.h"
#include "sluice/batch.h"
#include "sluice/change_event.h"
#include "sluice/config.h"

namespace sluice::testing {

// What the events carry beyond their key, lsn and (id, qty) image.
struct OrderEventsShape {
  bool source_time = false;  // source.ts_ms = 1700000000000 + lsn
  bool before_note = false;  // a delete's before image has a third column, note = "gone"
};

// Events of one table keyed by "id", with a PostgreSQL lsn as source position,
// at Kafka offsets 0, 1, 2, ... of topic "orders".
class OrderEvents {
 public:
  explicit OrderEvents(OrderEventsShape shape = {});

  // An event `op` of key `id` at `lsn`: deletes carry a before image, truncates
  // no key and no image, every other op an after image.
  OrderEvents& add(Op op, std::string id, uint64_t lsn, std::string qty = "1");
  // A tombstone of key `id`: no source position.
  OrderEvents& tombstone(std::string id);

  // plan_table, plan_history and plan_changelog over every event.
  pg::TablePlan plan(const SinkConfig& config) const;
  pg::TablePlan history(const SinkConfig& config) const;
  pg::TablePlan changelog(const SinkConfig& config) const;

 private:
  std::vector<size_t> all() const;

  OrderEventsShape shape_;
  std::shared_ptr<const RowSchema> key_schema_;
  std::shared_ptr<const RowSchema> value_schema_;
  std::shared_ptr<const RowSchema> before_schema_;
  Batch batch_;
};

// The batch entries `plan` writes, in its order.
std::vector<size_t> entries_of(const pg::TablePlan& plan);
// The names of the columns `plan` writes, in its order.
std::vector<std::string> names_of(const pg::TablePlan& plan);

}  // namespace sluice::testing
