// History (SCD type 2) and changelog tables against a real PostgreSQL server:
// exact versions and validity ranges for creates, updates, deletes and
// re-creates; idempotent re-delivery; late old events; truncates; a replica,
// its history and its changelog fed by one topic in one transaction.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sinks/postgres/postgres_sink.h"
#include "tests/support/sink_fixture.h"
#include "tests/support/test_services.h"

namespace {

using sluice::Batch;
using sluice::BatchEntry;
using sluice::Datum;
using sluice::FieldType;
using sluice::InsertMode;
using sluice::Op;
using sluice::Row;
using sluice::SinkConfig;
using sluice::pg::PostgresSink;
using sluice::testing::col;
using sluice::testing::query;
using sluice::testing::query_value;
using sluice::testing::Schema;
using sluice::testing::schema;
using sluice::testing::SinkFixture;

// Source commit times are kEpoch + the event's lsn in seconds, so validity
// ranges read as lsns in the expectations below.
constexpr int64_t kEpochSeconds = 1767225600;  // 2026-01-01 00:00:00 UTC

class HistoryTest : public SinkFixture {
 protected:
  HistoryTest() : SinkFixture("history") {}

  static SinkConfig history_mode() {
    SinkConfig config;
    config.insert_mode = InsertMode::kHistory;
    return config;
  }

  // An event for key `id` at source lsn `lsn` (commit time kEpoch + lsn s),
  // at the next Kafka offset. Deletes carry a before image.
  BatchEntry at(uint64_t lsn, Op op, int64_t id, const std::string& name = "n", const std::string& table = "items") {
    BatchEntry e = next_entry(op, table);
    e.event.source.ts_ms = (kEpochSeconds + static_cast<int64_t>(lsn)) * 1000;
    e.event.source.position.kind = sluice::PositionKind::kPostgresLsn;
    e.event.source.position.parts = {lsn, 0, 0, 0};
    e.event.key = Row{key_schema_, {Datum::of(std::to_string(id))}};
    Row image{value_schema_, {Datum::of(std::to_string(id)), Datum::of(name)}};
    if (op == Op::kDelete) {
      e.event.before = std::move(image);
    } else if (op == Op::kTruncate) {
      e.event.key.reset();
    } else {
      e.event.after = std::move(image);
    }
    return e;
  }

  void apply(PostgresSink& sink, const Batch& b, size_t expect_applied) {
    auto stats = sink.apply(b, no_rejects);
    ASSERT_TRUE(stats) << stats.error().message;
    EXPECT_TRUE(stats->rejects.empty()) << stats->rejects[0].reject.message;
    EXPECT_EQ(stats->applied, expect_applied);
  }

  // Every version of `table`: id, name, valid from, valid to (as lsns),
  // current, deleted, op; in source order.
  std::string versions(const std::string& table = "items") {
    const std::string since = "(extract(epoch FROM %s) - " + std::to_string(kEpochSeconds) + ")::bigint";
    auto seconds = [&](const std::string& column) {
      std::string out = since;
      out.replace(out.find("%s"), 2, column);
      return out;
    };
    return rows("SELECT id, name, " + seconds("__valid_from") + ", " + seconds("__valid_to") +
                ", __is_current, __deleted, __op FROM " + table + " ORDER BY id, __sluice_position");
  }

  // The rows valid at kEpoch + `lsn` seconds, by the point-in-time query of the README.
  std::string as_of(uint64_t lsn, const std::string& table = "items") {
    std::string t = "to_timestamp(" + std::to_string(kEpochSeconds + static_cast<int64_t>(lsn)) + ")";
    return rows("SELECT id, name FROM " + table + " WHERE __valid_from <= " + t + " AND (" + t +
                " < __valid_to OR __valid_to IS NULL) ORDER BY id");
  }

  Schema key_schema_ = schema({col("id", FieldType::kInt64)});
  Schema value_schema_ = schema({col("id", FieldType::kInt64), col("name", FieldType::kString)});
};

TEST_F(HistoryTest, CreatesUpdatesDeletesAndRecreatesMakeExactlyTheseVersions) {
  auto sink = open(history_mode());
  Batch first = batch({at(10, Op::kCreate, 1, "a"), at(15, Op::kCreate, 2, "x"), at(20, Op::kUpdate, 1, "b"),
                       at(25, Op::kUpdate, 2, "y")});
  Batch second = batch({at(30, Op::kDelete, 1, "b"), at(40, Op::kCreate, 1, "c"), at(50, Op::kUpdate, 1, "d")});
  apply(*sink, first, 4);
  apply(*sink, second, 3);
  const std::string expected =
      "1,a,10,20,f,f,c;"
      "1,b,20,30,f,f,u;"
      "1,b,30,30,f,t,d;"  // the deletion version: its before image, valid for no time
      "1,c,40,50,f,f,c;"
      "1,d,50,NULL,t,f,u;"
      "2,x,15,25,f,f,c;"
      "2,y,25,NULL,t,f,u;";
  EXPECT_EQ(versions(), expected);
  EXPECT_EQ(rows("SELECT next_offset FROM sluice_offsets"), std::to_string(next_offset_) + ";");

  // Re-delivery of both batches, in order and out of order, changes nothing.
  apply(*sink, second, 3);
  apply(*sink, first, 4);
  apply(*sink, second, 3);
  EXPECT_EQ(versions(), expected);

  // Point in time: before the first version, inside ranges, at a boundary,
  // while key 1 is deleted, now.
  EXPECT_EQ(as_of(5), "");
  EXPECT_EQ(as_of(12), "1,a;");
  EXPECT_EQ(as_of(20), "1,b;2,x;");
  EXPECT_EQ(as_of(35), "2,y;");
  EXPECT_EQ(as_of(60), "1,d;2,y;");
  EXPECT_EQ(rows("SELECT id, name FROM items WHERE __is_current ORDER BY id"), "1,d;2,y;");
  EXPECT_EQ(rows("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND "
                 "a.attnum = ANY (i.indkey) WHERE i.indrelid = 'items'::regclass AND i.indisprimary ORDER BY 1"),
            "__sluice_position;id;");
}

TEST_F(HistoryTest, TheWholeSequenceInOneBatchGivesTheSameVersions) {
  auto sink = open(history_mode());
  Batch all = batch({at(10, Op::kCreate, 1, "a"), at(20, Op::kUpdate, 1, "b"), at(30, Op::kDelete, 1, "b"),
                     at(40, Op::kCreate, 1, "c"), at(40, Op::kCreate, 1, "c")});
  apply(*sink, all, 5);
  const std::string expected = "1,a,10,20,f,f,c;1,b,20,30,f,f,u;1,b,30,30,f,t,d;1,c,40,NULL,t,f,c;";
  EXPECT_EQ(versions(), expected) << "the same change twice (a duplicate from the connector) is one version";
  apply(*sink, all, 5);
  EXPECT_EQ(versions(), expected);
}

TEST_F(HistoryTest, ALateOldEventLandsInItsPlaceAndNeverBecomesCurrent) {
  auto sink = open(history_mode());
  apply(*sink, batch({at(10, Op::kCreate, 1, "a"), at(30, Op::kUpdate, 1, "c")}), 2);
  apply(*sink, batch({at(20, Op::kUpdate, 1, "b")}), 1);
  EXPECT_EQ(versions(), "1,a,10,20,f,f,c;1,b,20,30,f,f,u;1,c,30,NULL,t,f,u;");
  // Deleted at 40; an update from 35 replayed afterwards does not reopen it.
  apply(*sink, batch({at(40, Op::kDelete, 1, "c")}), 1);
  apply(*sink, batch({at(35, Op::kUpdate, 1, "late")}), 1);
  EXPECT_EQ(versions(), "1,a,10,20,f,f,c;1,b,20,30,f,f,u;1,c,30,35,f,f,u;1,late,35,40,f,f,u;1,c,40,40,f,t,d;");
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM items WHERE __is_current"), "0");
  EXPECT_EQ(as_of(37), "1,late;");
  // A create older than everything becomes the first version.
  apply(*sink, batch({at(5, Op::kCreate, 1, "first")}), 1);
  EXPECT_EQ(rows("SELECT name FROM items ORDER BY __sluice_position LIMIT 2"), "first;a;");
  EXPECT_EQ(as_of(7), "1,first;");
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM items WHERE __is_current"), "0");
}

TEST_F(HistoryTest, VersionsOfDifferentPositionKindsAreOrderedByTimeThenKafkaCoordinates) {
  auto sink = open(history_mode());
  apply(*sink, batch({at(10, Op::kCreate, 1, "lsn")}), 1);
  // The same key later from a source that only has commit times.
  BatchEntry timed = at(0, Op::kUpdate, 1, "timed");
  timed.event.source.position.kind = sluice::PositionKind::kTimestamp;
  timed.event.source.position.parts = {static_cast<uint64_t>((kEpochSeconds + 20) * 1000), 0, 0, 0};
  timed.event.source.ts_ms = (kEpochSeconds + 20) * 1000;
  BatchEntry same_ms = timed;
  same_ms.event.origin.offset = sluice::Offset{next_offset_++};
  same_ms.event.after->values[1] = Datum::of("same ms");
  apply(*sink, batch({std::move(timed), std::move(same_ms)}), 2);
  EXPECT_EQ(rows("SELECT name, __is_current FROM items ORDER BY __valid_from, __connect_offset"),
            "lsn,f;timed,f;same ms,t;")
      << "two changes in one millisecond stay two versions";
}

TEST_F(HistoryTest, TruncateClosesEveryCurrentVersion) {
  SinkConfig config = history_mode();
  config.truncate_enabled = true;
  auto sink = open(config);
  Batch b = batch({at(10, Op::kCreate, 1, "a"), at(11, Op::kCreate, 2, "x"), at(20, Op::kTruncate, 0),
                   at(30, Op::kCreate, 1, "again")});
  apply(*sink, b, 4);
  const std::string expected =
      "1,a,10,20,f,f,c;1,a,20,20,f,t,t;1,again,30,NULL,t,f,c;2,x,11,20,f,f,c;2,x,20,20,f,t,t;";
  EXPECT_EQ(versions(), expected);
  apply(*sink, b, 4);
  EXPECT_EQ(versions(), expected) << "re-delivery closes nothing newer than the truncate";
  EXPECT_EQ(as_of(25), "");
}

TEST_F(HistoryTest, ChangelogAppendsEveryEventOnce) {
  SinkConfig config;
  config.insert_mode = InsertMode::kChangelog;
  config.truncate_enabled = true;
  auto sink = open(config);
  std::vector<BatchEntry> entries;
  entries.push_back(at(10, Op::kCreate, 1, "a"));
  entries.push_back(at(20, Op::kUpdate, 1, "b"));
  entries.push_back(at(30, Op::kDelete, 1, "b"));
  entries.push_back(at(0, Op::kDelete, 1));
  entries.back().event.tombstone = true;
  entries.back().event.source = {};
  entries.push_back(at(40, Op::kTruncate, 0));
  entries.push_back(at(50, Op::kCreate, 1, "c"));
  Batch b = batch(std::move(entries));
  auto stats = sink->apply(b, no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->applied, 5u);
  EXPECT_EQ(stats->skipped, 1u) << "the tombstone";
  const std::string expected =
      "topic1,0,100,c,1,a,10;topic1,0,101,u,1,b,20;topic1,0,102,d,1,b,30;topic1,0,104,t,NULL,NULL,40;"
      "topic1,0,105,c,1,c,50;";
  const std::string sql = "SELECT __connect_topic, __connect_partition, __connect_offset, __op, id, name, "
                          "(extract(epoch FROM __source_ts) - " + std::to_string(kEpochSeconds) +
                          ")::bigint FROM items ORDER BY __connect_offset";
  EXPECT_EQ(rows(sql), expected);
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM items WHERE length(__sluice_position) = 41"), "5");
  ASSERT_TRUE(sink->apply(b, no_rejects));
  EXPECT_EQ(rows(sql), expected) << "unique on the Kafka coordinates: re-delivery appends nothing";
}

TEST_F(HistoryTest, OneTopicFeedsAReplicaItsHistoryAndItsChangelogInOneTransaction) {
  SinkConfig config;
  config.history_table_name_format = "${topic}_history";
  config.changelog_table_name_format = "audit.${topic}_log";
  auto sink = open(config);
  Batch first = batch({at(10, Op::kCreate, 1, "a"), at(15, Op::kCreate, 2, "x"), at(20, Op::kUpdate, 1, "b")});
  Batch second = batch({at(30, Op::kDelete, 2, "x"), at(40, Op::kUpdate, 1, "c")});
  apply(*sink, first, 3);
  apply(*sink, second, 2);
  apply(*sink, second, 2);
  EXPECT_EQ(rows("SELECT id, name FROM items ORDER BY id"), "1,c;") << "the replica: one row per key";
  EXPECT_EQ(versions("topic1_history"),
            "1,a,10,20,f,f,c;1,b,20,40,f,f,u;1,c,40,NULL,t,f,u;2,x,15,30,f,f,c;2,x,30,30,f,t,d;");
  EXPECT_EQ(rows("SELECT __connect_offset, __op FROM audit.topic1_log ORDER BY 1"),
            "100,c;101,c;102,u;103,d;104,u;");
  EXPECT_EQ(rows("SELECT next_offset FROM sluice_offsets"), std::to_string(next_offset_) + ";");

  // A row the history table refuses rejects the event everywhere; its
  // neighbours commit in all three tables.
  query(url_, "ALTER TABLE topic1_history ADD CONSTRAINT no_bad CHECK (name <> 'bad')");
  auto stats = sink->apply(batch({at(50, Op::kUpdate, 1, "d"), at(60, Op::kUpdate, 2, "bad")}), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  ASSERT_EQ(stats->rejects.size(), 1u);
  EXPECT_EQ(stats->rejects[0].entry_index, 1u);
  EXPECT_EQ(stats->rejects[0].reject.rule, "23514 check_violation");
  EXPECT_EQ(stats->applied, 1u);
  EXPECT_EQ(rows("SELECT id, name FROM items ORDER BY id"), "1,d;");
  EXPECT_EQ(rows("SELECT id, name FROM topic1_history WHERE __is_current ORDER BY id"), "1,d;");
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM audit.topic1_log"), "6");
}

TEST_F(HistoryTest, AFixedSchemaWithoutTheHistoryColumnsIsAClearError) {
  query(url_, "CREATE TABLE items (id bigint, name text, __sluice_position bytea, PRIMARY KEY (id, __sluice_position))");
  SinkConfig config = history_mode();
  config.schema_evolution = sluice::SchemaEvolution::kNone;
  auto sink = open(config);
  auto stats = sink->apply(batch({at(10, Op::kCreate, 1)}), no_rejects);
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().error_class, sluice::ErrorClass::kFatal);
  EXPECT_NE(stats.error().message.find("has no column __valid_from"), std::string::npos) << stats.error().message;
  EXPECT_NE(stats.error().message.find("ADD COLUMN \"__valid_from\" timestamp with time zone"), std::string::npos)
      << stats.error().message;
}

}  // namespace
