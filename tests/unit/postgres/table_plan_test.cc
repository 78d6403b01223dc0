#include "sinks/postgres/table_plan.h"

#include <gtest/gtest.h>

#include <numeric>

namespace sluice::pg {
namespace {

std::shared_ptr<const RowSchema> schema_of(std::vector<std::string> names) {
  auto schema = std::make_shared<RowSchema>();
  for (std::string& name : names) schema->columns.push_back(Column{std::move(name), FieldType::kString});
  return schema;
}

// Events of one table keyed by "id", with a PostgreSQL lsn as source position.
class Events {
 public:
  Events& add(Op op, std::string id, uint64_t lsn, std::string qty = "1") {
    ChangeEvent event;
    event.op = op;
    event.origin.topic = "orders";
    event.origin.offset = Offset{static_cast<int64_t>(batch_.entries.size())};
    event.source.position.kind = PositionKind::kPostgresLsn;
    event.source.position.parts = {lsn, 0, 0, 0};
    event.key = Row{key_schema_, {Datum::of(id)}};
    if (op == Op::kDelete) {
      event.before = Row{value_schema_, {Datum::of(id), Datum::of(qty)}};
    } else {
      event.after = Row{value_schema_, {Datum::of(id), Datum::of(qty)}};
    }
    batch_.entries.push_back(BatchEntry{{}, std::move(event)});
    return *this;
  }
  Events& tombstone(std::string id) {
    ChangeEvent event;
    event.op = Op::kDelete;
    event.tombstone = true;
    event.origin.topic = "orders";
    event.origin.offset = Offset{static_cast<int64_t>(batch_.entries.size())};
    event.key = Row{key_schema_, {Datum::of(id)}};
    batch_.entries.push_back(BatchEntry{{}, std::move(event)});
    return *this;
  }

  TablePlan plan(const SinkConfig& config) const {
    std::vector<size_t> all(batch_.entries.size());
    std::iota(all.begin(), all.end(), 0);
    return plan_table(config, batch_, all);
  }

 private:
  std::shared_ptr<const RowSchema> key_schema_ = schema_of({"id"});
  std::shared_ptr<const RowSchema> value_schema_ = schema_of({"id", "qty"});
  Batch batch_;
};

std::vector<size_t> entries_of(const TablePlan& plan) {
  std::vector<size_t> out;
  for (const PlannedRow& row : plan.rows) out.push_back(row.entry);
  return out;
}

std::vector<std::string> names_of(const TablePlan& plan) {
  std::vector<std::string> out;
  for (const WriteColumn& c : plan.columns) out.push_back(c.name);
  return out;
}

TEST(TablePlan, TheLastEventPerKeyWinsAndStandsForTheOthers) {
  SinkConfig config;
  TablePlan plan = Events().add(Op::kCreate, "1", 10).add(Op::kCreate, "2", 11).add(Op::kUpdate, "1", 12).plan(config);
  EXPECT_EQ(entries_of(plan), (std::vector<size_t>{2, 1}));
  EXPECT_EQ(plan.applied, 3u);
  EXPECT_EQ(plan.skipped, 0u);
  EXPECT_EQ(plan.rows[0].folded, 2u);
  EXPECT_EQ(plan.primary_key, (std::vector<std::string>{"id"}));
  EXPECT_EQ(names_of(plan), (std::vector<std::string>{"id", "qty", "__sluice_position"}));
  EXPECT_TRUE(plan.columns[0].key);
}

TEST(TablePlan, AnEventOlderThanOneOfTheSameBatchIsStale) {
  SinkConfig config;
  TablePlan plan = Events().add(Op::kUpdate, "1", 20, "new").add(Op::kUpdate, "1", 19, "old").plan(config);
  EXPECT_EQ(entries_of(plan), (std::vector<size_t>{0}));
  EXPECT_EQ(plan.applied, 1u);
  EXPECT_EQ(plan.skipped, 1u);
  EXPECT_EQ(plan.stale, 1u);

  config.stale_guard = false;
  plan = Events().add(Op::kUpdate, "1", 20, "new").add(Op::kUpdate, "1", 19, "old").plan(config);
  EXPECT_EQ(entries_of(plan), (std::vector<size_t>{1})) << "without the guard, Kafka order decides";
  EXPECT_EQ(plan.stale, 0u);
  EXPECT_EQ(names_of(plan), (std::vector<std::string>{"id", "qty"}));
}

TEST(TablePlan, ATombstoneAfterItsDeleteKeepsTheDeletesPosition) {
  SinkConfig config;
  TablePlan plan = Events().add(Op::kCreate, "1", 30).add(Op::kDelete, "1", 31).tombstone("1").plan(config);
  ASSERT_EQ(plan.rows.size(), 1u);
  EXPECT_EQ(plan.rows[0].entry, 1u) << "the delete, which carries the source position";
  EXPECT_EQ(plan.rows[0].folded, 3u);
  EXPECT_EQ(plan.applied, 3u);
}

TEST(TablePlan, ASoftDeleteAfterAWriteKeepsTheWrittenValues) {
  SinkConfig config;
  config.delete_mode = DeleteMode::kSoft;
  TablePlan plan = Events().add(Op::kCreate, "1", 40, "7").add(Op::kDelete, "1", 41).plan(config);
  ASSERT_EQ(plan.rows.size(), 1u);
  EXPECT_EQ(plan.rows[0].entry, 0u);
  EXPECT_TRUE(plan.rows[0].soft_deleted);
  EXPECT_EQ(names_of(plan), (std::vector<std::string>{"id", "qty", "__sluice_position", "__deleted", "__deleted_at"}));
}

TEST(TablePlan, DeletesAreSkippedWhenDisabledOrWithoutAKey) {
  SinkConfig config;
  config.delete_enabled = false;
  TablePlan plan = Events().add(Op::kCreate, "1", 50).add(Op::kDelete, "1", 51).plan(config);
  EXPECT_EQ(entries_of(plan), (std::vector<size_t>{0}));
  EXPECT_EQ(plan.skipped, 1u);
  EXPECT_EQ(plan.stale, 0u);

  config = SinkConfig{};
  config.primary_key_mode = PrimaryKeyMode::kNone;
  plan = Events().add(Op::kCreate, "1", 50).add(Op::kCreate, "1", 51).add(Op::kDelete, "1", 52).plan(config);
  EXPECT_EQ(entries_of(plan), (std::vector<size_t>{0, 1})) << "without a key every write is its own row";
  EXPECT_EQ(plan.skipped, 1u);
  EXPECT_FALSE(plan.guarded);
}

TEST(TablePlan, KafkaKeysComeFirst) {
  SinkConfig config;
  config.primary_key_mode = PrimaryKeyMode::kKafka;
  TablePlan plan = Events().add(Op::kCreate, "1", 60).add(Op::kCreate, "1", 61).plan(config);
  EXPECT_EQ(plan.rows.size(), 2u);
  EXPECT_EQ(names_of(plan), (std::vector<std::string>{"__connect_topic", "__connect_partition", "__connect_offset",
                                                       "id", "qty"}));
  EXPECT_EQ(plan.primary_key, (std::vector<std::string>{"__connect_topic", "__connect_partition", "__connect_offset"}));
}

TEST(TablePlan, ExcludedFieldsAreNotWritten) {
  SinkConfig config;
  config.field_exclude = {{"orders", "qty"}};
  TablePlan plan = Events().add(Op::kCreate, "1", 70).plan(config);
  EXPECT_EQ(names_of(plan), (std::vector<std::string>{"id", "__sluice_position"}));
}

}  // namespace
}  // namespace sluice::pg
