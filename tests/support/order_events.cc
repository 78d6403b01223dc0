#include "tests/support/order_events.h"

#include <numeric>
#include <utility>

#include "sinks/postgres/history_plan.h"

namespace sluice::testing {
namespace {

// A schema of string columns named `names`.
std::shared_ptr<const RowSchema> schema_of(std::vector<std::string> names) {
  auto schema = std::make_shared<RowSchema>();
  for (std::string& name : names) schema->columns.push_back(Column{std::move(name), FieldType::kString});
  return schema;
}

}  // namespace

OrderEvents::OrderEvents(OrderEventsShape shape)
    : shape_(shape),
      key_schema_(schema_of({"id"})),
      value_schema_(schema_of({"id", "qty"})),
      before_schema_(shape.before_note ? schema_of({"id", "qty", "note"}) : value_schema_) {}

OrderEvents& OrderEvents::add(Op op, std::string id, uint64_t lsn, std::string qty) {
  ChangeEvent event;
  event.op = op;
  event.origin.topic = "orders";
  event.origin.offset = Offset{static_cast<int64_t>(batch_.entries.size())};
  if (shape_.source_time) event.source.ts_ms = 1700000000000 + static_cast<int64_t>(lsn);
  event.source.position.kind = PositionKind::kPostgresLsn;
  event.source.position.parts = {lsn, 0, 0, 0};
  event.key = Row{key_schema_, {Datum::of(id)}};
  if (op == Op::kDelete) {
    std::vector<Datum> before = {Datum::of(id), Datum::of(qty)};
    if (shape_.before_note) before.push_back(Datum::of("gone"));
    event.before = Row{before_schema_, std::move(before)};
  } else if (op != Op::kTruncate) {
    event.after = Row{value_schema_, {Datum::of(id), Datum::of(qty)}};
  }
  if (op == Op::kTruncate) event.key.reset();
  batch_.entries.push_back(BatchEntry{{}, std::move(event)});
  return *this;
}

OrderEvents& OrderEvents::tombstone(std::string id) {
  ChangeEvent event;
  event.op = Op::kDelete;
  event.tombstone = true;
  event.origin.topic = "orders";
  event.origin.offset = Offset{static_cast<int64_t>(batch_.entries.size())};
  event.key = Row{key_schema_, {Datum::of(id)}};
  batch_.entries.push_back(BatchEntry{{}, std::move(event)});
  return *this;
}

pg::TablePlan OrderEvents::plan(const SinkConfig& config) const { return pg::plan_table(config, batch_, all()); }

pg::TablePlan OrderEvents::history(const SinkConfig& config) const { return pg::plan_history(config, batch_, all()); }

pg::TablePlan OrderEvents::changelog(const SinkConfig& config) const {
  return pg::plan_changelog(config, batch_, all());
}

std::vector<size_t> OrderEvents::all() const {
  std::vector<size_t> out(batch_.entries.size());
  std::iota(out.begin(), out.end(), 0);
  return out;
}

std::vector<size_t> entries_of(const pg::TablePlan& plan) {
  std::vector<size_t> out;
  for (const pg::PlannedRow& row : plan.rows) out.push_back(row.entry);
  return out;
}

std::vector<std::string> names_of(const pg::TablePlan& plan) {
  std::vector<std::string> out;
  for (const pg::WriteColumn& c : plan.columns) out.push_back(c.name);
  return out;
}

}  // namespace sluice::testing
