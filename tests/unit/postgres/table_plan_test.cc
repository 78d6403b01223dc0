#include "sinks/postgres/table_plan.h"

#include <gtest/gtest.h>

#include "tests/support/order_events.h"

namespace sluice::pg {
namespace {

using testing::entries_of;
using testing::names_of;
using testing::OrderEvents;

TEST(TablePlan, TheLastEventPerKeyWinsAndStandsForTheOthers) {
  SinkConfig config;
  TablePlan plan = OrderEvents().add(Op::kCreate, "1", 10).add(Op::kCreate, "2", 11).add(Op::kUpdate, "1", 12).plan(config);
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
  TablePlan plan = OrderEvents().add(Op::kUpdate, "1", 20, "new").add(Op::kUpdate, "1", 19, "old").plan(config);
  EXPECT_EQ(entries_of(plan), (std::vector<size_t>{0}));
  EXPECT_EQ(plan.applied, 1u);
  EXPECT_EQ(plan.skipped, 1u);
  EXPECT_EQ(plan.stale, 1u);

  config.stale_guard = false;
  plan = OrderEvents().add(Op::kUpdate, "1", 20, "new").add(Op::kUpdate, "1", 19, "old").plan(config);
  EXPECT_EQ(entries_of(plan), (std::vector<size_t>{1})) << "without the guard, Kafka order decides";
  EXPECT_EQ(plan.stale, 0u);
  EXPECT_EQ(names_of(plan), (std::vector<std::string>{"id", "qty"}));
}

TEST(TablePlan, ATombstoneAfterItsDeleteKeepsTheDeletesPosition) {
  SinkConfig config;
  TablePlan plan = OrderEvents().add(Op::kCreate, "1", 30).add(Op::kDelete, "1", 31).tombstone("1").plan(config);
  ASSERT_EQ(plan.rows.size(), 1u);
  EXPECT_EQ(plan.rows[0].entry, 1u) << "the delete, which carries the source position";
  EXPECT_EQ(plan.rows[0].folded, 3u);
  EXPECT_EQ(plan.applied, 3u);
}

TEST(TablePlan, ASoftDeleteAfterAWriteKeepsTheWrittenValues) {
  SinkConfig config;
  config.delete_mode = DeleteMode::kSoft;
  TablePlan plan = OrderEvents().add(Op::kCreate, "1", 40, "7").add(Op::kDelete, "1", 41).plan(config);
  ASSERT_EQ(plan.rows.size(), 1u);
  EXPECT_EQ(plan.rows[0].entry, 0u);
  EXPECT_TRUE(plan.rows[0].soft_deleted);
  EXPECT_EQ(names_of(plan), (std::vector<std::string>{"id", "qty", "__sluice_position", "__deleted", "__deleted_at"}));
}

TEST(TablePlan, DeletesAreSkippedWhenDisabledOrWithoutAKey) {
  SinkConfig config;
  config.delete_enabled = false;
  TablePlan plan = OrderEvents().add(Op::kCreate, "1", 50).add(Op::kDelete, "1", 51).plan(config);
  EXPECT_EQ(entries_of(plan), (std::vector<size_t>{0}));
  EXPECT_EQ(plan.skipped, 1u);
  EXPECT_EQ(plan.stale, 0u);

  config = SinkConfig{};
  config.primary_key_mode = PrimaryKeyMode::kNone;
  plan = OrderEvents().add(Op::kCreate, "1", 50).add(Op::kCreate, "1", 51).add(Op::kDelete, "1", 52).plan(config);
  EXPECT_EQ(entries_of(plan), (std::vector<size_t>{0, 1})) << "without a key every write is its own row";
  EXPECT_EQ(plan.skipped, 1u);
  EXPECT_FALSE(plan.guarded);
}

TEST(TablePlan, KafkaKeysComeFirst) {
  SinkConfig config;
  config.primary_key_mode = PrimaryKeyMode::kKafka;
  TablePlan plan = OrderEvents().add(Op::kCreate, "1", 60).add(Op::kCreate, "1", 61).plan(config);
  EXPECT_EQ(plan.rows.size(), 2u);
  EXPECT_EQ(names_of(plan), (std::vector<std::string>{"__connect_topic", "__connect_partition", "__connect_offset",
                                                       "id", "qty"}));
  EXPECT_EQ(plan.primary_key, (std::vector<std::string>{"__connect_topic", "__connect_partition", "__connect_offset"}));
}

TEST(TablePlan, ExcludedFieldsAreNotWritten) {
  SinkConfig config;
  config.field_exclude = {{"orders", "qty"}};
  TablePlan plan = OrderEvents().add(Op::kCreate, "1", 70).plan(config);
  EXPECT_EQ(names_of(plan), (std::vector<std::string>{"id", "__sluice_position"}));
}

}  // namespace
}  // namespace sluice::pg
