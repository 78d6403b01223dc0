#include "sinks/postgres/history_plan.h"

#include <gtest/gtest.h>

#include "sinks/postgres/stale_guard.h"
#include "tests/support/order_events.h"

namespace sluice::pg {
namespace {

using testing::entries_of;
using testing::names_of;

// History events carry a source time, and deletes a before image with a
// column ("note") their after images lack.
testing::OrderEvents history_events() { return testing::OrderEvents({.source_time = true, .before_note = true}); }

TEST(HistoryPlan, EveryEventOfAKeyIsAVersion) {
  SinkConfig config;
  TablePlan plan = history_events()
                       .add(Op::kCreate, "1", 10)
                       .add(Op::kUpdate, "1", 11)
                       .add(Op::kCreate, "2", 12)
                       .add(Op::kDelete, "1", 13)
                       .add(Op::kCreate, "1", 14)
                       .history(config);
  EXPECT_EQ(entries_of(plan), (std::vector<size_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(plan.applied, 5u);
  EXPECT_EQ(plan.skipped, 0u);
  EXPECT_FALSE(plan.guarded) << "history orders versions itself; no row is dropped as stale";
  EXPECT_EQ(plan.primary_key, (std::vector<std::string>{"id", "__sluice_position"}));
  EXPECT_EQ(names_of(plan),
            (std::vector<std::string>{"id", "qty", "note", "__valid_from", "__valid_to", "__is_current", "__deleted",
                                      "__op", "__sluice_position", "__connect_topic", "__connect_partition",
                                      "__connect_offset"}));
  EXPECT_TRUE(plan.rows[3].soft_deleted) << "the delete is a deletion version";
  EXPECT_TRUE(plan.rows[3].before_image) << "holding its before image";
  EXPECT_FALSE(plan.rows[4].soft_deleted);
  for (const WriteColumn& c : plan.columns) {
    EXPECT_EQ(c.key, c.name == "id" || c.name == "__sluice_position") << c.name;
  }
}

TEST(HistoryPlan, TheSameChangeTwiceInABatchIsOneVersionAndTombstonesAreLeftOut) {
  SinkConfig config;
  TablePlan plan =
      history_events().add(Op::kCreate, "1", 10).add(Op::kCreate, "1", 10).add(Op::kDelete, "1", 11).tombstone("1").history(config);
  EXPECT_EQ(entries_of(plan), (std::vector<size_t>{0, 2}));
  EXPECT_EQ(plan.rows[0].folded, 2u);
  EXPECT_EQ(plan.applied, 3u);
  EXPECT_EQ(plan.skipped, 1u);

  config.delete_enabled = false;
  plan = history_events().add(Op::kCreate, "1", 10).add(Op::kDelete, "1", 11).history(config);
  EXPECT_EQ(entries_of(plan), (std::vector<size_t>{0}));
  EXPECT_EQ(plan.skipped, 1u);
}

TEST(HistoryPlan, OnlyKeyedModesHaveAHistory) {
  SinkConfig config;
  config.primary_key_mode = PrimaryKeyMode::kKafka;
  TablePlan plan = history_events().add(Op::kCreate, "1", 10).history(config);
  EXPECT_TRUE(plan.rows.empty());
  EXPECT_EQ(plan.skipped, 1u);
}

TEST(HistoryPlan, VersionPositionsOfSourceTimesCarryTheKafkaCoordinates) {
  ChangeEvent a;
  a.source.position.kind = PositionKind::kTimestamp;
  a.source.position.parts = {1700000000000, 0, 0, 0};
  a.origin.topic = "t";
  a.origin.partition = Partition{3};
  a.origin.offset = Offset{41};
  ChangeEvent b = a;
  b.origin.offset = Offset{42};
  EXPECT_EQ(encode_position(a), encode_position(b)) << "the guard sees one position";
  EXPECT_NE(version_position(a), version_position(b)) << "history keeps two versions";
  EXPECT_TRUE(position_before(version_position(a), version_position(b)));

  ChangeEvent lsn = a;
  lsn.source.position.kind = PositionKind::kPostgresLsn;
  EXPECT_EQ(version_position(lsn), encode_position(lsn)) << "log positions are unique already";
}

TEST(HistoryPlan, EventTimeAndItsText) {
  ChangeEvent event;
  event.origin.timestamp_ms = 3;
  EXPECT_EQ(event_time_ms(event), 3);
  event.ts_ms = 2;
  EXPECT_EQ(event_time_ms(event), 2);
  event.source.ts_ms = 1;
  EXPECT_EQ(event_time_ms(event), 1);

  EXPECT_EQ(timestamp_text(0), "1970-01-01 00:00:00.000+00");
  EXPECT_EQ(timestamp_text(1709214300123), "2024-02-29 13:45:00.123+00");
  EXPECT_EQ(timestamp_text(-1), "1969-12-31 23:59:59.999+00");
  EXPECT_EQ(timestamp_text(-62167219200000), "0001-01-01 00:00:00.000+00 BC") << "year 0 is 1 BC";
}

TEST(ChangelogPlan, EveryEventIsARowKeyedByItsKafkaRecord) {
  SinkConfig config;
  TablePlan plan = history_events()
                       .add(Op::kCreate, "1", 10)
                       .add(Op::kUpdate, "1", 11)
                       .add(Op::kDelete, "1", 12)
                       .tombstone("1")
                       .add(Op::kTruncate, "", 13)
                       .changelog(config);
  EXPECT_EQ(entries_of(plan), (std::vector<size_t>{0, 1, 2, 4}));
  EXPECT_EQ(plan.applied, 4u);
  EXPECT_EQ(plan.skipped, 1u) << "the tombstone";
  EXPECT_TRUE(plan.rows[2].before_image);
  EXPECT_EQ(plan.primary_key, (std::vector<std::string>{"__connect_topic", "__connect_partition", "__connect_offset"}));
  EXPECT_EQ(names_of(plan), (std::vector<std::string>{"__connect_topic", "__connect_partition", "__connect_offset",
                                                       "id", "qty", "note", "__op", "__sluice_position",
                                                       "__source_ts"}));
  EXPECT_EQ(plan.rows[0].position.size(), kPositionBytes);
}

}  // namespace
}  // namespace sluice::pg
