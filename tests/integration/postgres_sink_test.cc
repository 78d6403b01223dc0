// PostgresSink against a real PostgreSQL server: every write mode, exactly-once
// offsets, poison-row isolation, connection loss, hostile identifiers, type
// round trips and schema evolution.
#include "sinks/postgres/postgres_sink.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "decode/debezium_decoder.h"
#include "sinks/postgres/connection.h"
#include "tests/support/sink_fixture.h"
#include "tests/support/test_services.h"

namespace {

using sluice::Batch;
using sluice::BatchEntry;
using sluice::Column;
using sluice::Datum;
using sluice::FieldType;
using sluice::Op;
using sluice::Row;
using sluice::SinkConfig;
using sluice::SinkReject;
using sluice::Status;
using sluice::testing::col;
using sluice::testing::query;
using sluice::testing::query_value;
using sluice::testing::Schema;
using sluice::testing::schema;
using sluice::testing::SinkFixture;

// A value: nullptr-like "\x01NULL" marks SQL NULL.
const std::string kNull = "\x01NULL";

Row row(const Schema& s, const std::vector<std::string>& values) {
  Row r;
  r.schema = s;
  for (const std::string& v : values) r.values.push_back(v == kNull ? Datum{} : Datum::of(v));
  return r;
}

class SinkTest : public SinkFixture {
 protected:
  SinkTest() : SinkFixture("sink") {}

  void SetUp() override {
    SinkFixture::SetUp();
    key_schema_ = schema({col("id", FieldType::kInt64, false)});
    value_schema_ = schema({col("id", FieldType::kInt64, false), col("name", FieldType::kString),
                            col("qty", FieldType::kInt32)});
  }

  // An event on table `table` for key `id`; deletes carry only the key.
  BatchEntry event(Op op, int64_t id, const std::string& name = "n", const std::string& qty = "1",
                   const std::string& table = "items") {
    BatchEntry e = next_entry(op, table);
    e.event.key = row(key_schema_, {std::to_string(id)});
    if (op != Op::kDelete) e.event.after = row(value_schema_, {std::to_string(id), name, qty});
    return e;
  }

  // The same, positioned at PostgreSQL LSN `lsn` of the source.
  BatchEntry at_lsn(uint64_t lsn, Op op, int64_t id, const std::string& name = "n",
                    const std::string& table = "items") {
    BatchEntry e = event(op, id, name, "1", table);
    e.event.source.position.kind = sluice::PositionKind::kPostgresLsn;
    e.event.source.position.parts = {lsn, 0, 0, 0};
    return e;
  }

  Schema key_schema_;
  Schema value_schema_;
};

TEST_F(SinkTest, UpsertKeepsTheLastEventPerKeyAndStoresOffsets) {
  auto sink = open();
  std::vector<BatchEntry> entries;
  for (int round = 0; round < 50; ++round) {
    for (int id = 1; id <= 20; ++id) {
      entries.push_back(event(round == 0 ? Op::kCreate : Op::kUpdate, id, "r" + std::to_string(round),
                              std::to_string(id * 1000 + round)));
    }
  }
  entries.push_back(event(Op::kDelete, 7));
  entries.push_back(event(Op::kRead, 21, "snap", "5"));
  auto stats = sink->apply(batch(std::move(entries)), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->applied, 1002u);
  EXPECT_TRUE(stats->rejects.empty());
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM items"), "20");
  EXPECT_EQ(rows("SELECT id, name, qty FROM items WHERE id IN (3, 21) ORDER BY id"), "3,r49,3049;21,snap,5;");
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM items WHERE id = 7"), "0");
  EXPECT_EQ(rows("SELECT consumer_group, topic, partition, next_offset FROM sluice_offsets"),
            "group1,topic1,0," + std::to_string(next_offset_) + ";");

  auto offsets = sink->load_offsets("group1", {{"topic1", sluice::Partition{0}}, {"topic1", sluice::Partition{1}}});
  ASSERT_TRUE(offsets) << offsets.error().message;
  ASSERT_EQ(offsets->size(), 1u);
  EXPECT_EQ(offsets->begin()->second.value, next_offset_);
  auto other = sink->load_offsets("group2", {{"topic1", sluice::Partition{0}}});
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->empty());

  // Re-applying the same batch is idempotent.
  auto again = sink->apply(batch({event(Op::kUpdate, 3, "again", "1")}), no_rejects);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(query_value(url_, "SELECT name FROM items WHERE id = 3"), "again");
}

TEST_F(SinkTest, InsertModeInsertsAndRejectsDuplicates) {
  SinkConfig config;
  config.insert_mode = sluice::InsertMode::kInsert;
  auto sink = open(config);
  ASSERT_TRUE(sink->apply(batch({event(Op::kCreate, 1), event(Op::kCreate, 2)}), no_rejects));
  auto stats = sink->apply(batch({event(Op::kCreate, 2), event(Op::kCreate, 3)}), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  ASSERT_EQ(stats->rejects.size(), 1u);
  EXPECT_EQ(stats->rejects[0].entry_index, 0u);
  EXPECT_EQ(stats->rejects[0].reject.rule, "23505 unique_violation");
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM items"), "3");
}

TEST_F(SinkTest, UpdateModeOnlyUpdatesExistingRows) {
  auto sink = open();
  ASSERT_TRUE(sink->apply(batch({event(Op::kCreate, 1, "a")}), no_rejects));
  SinkConfig config;
  config.insert_mode = sluice::InsertMode::kUpdate;
  auto updater = open(config);
  auto stats = updater->apply(batch({event(Op::kUpdate, 1, "b"), event(Op::kUpdate, 2, "c")}), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(rows("SELECT id, name FROM items ORDER BY id"), "1,b;");
}

TEST_F(SinkTest, HardDeleteSoftDeleteAndDisabledDelete) {
  auto sink = open();
  ASSERT_TRUE(sink->apply(batch({event(Op::kCreate, 1), event(Op::kCreate, 2), event(Op::kCreate, 3)}), no_rejects));
  BatchEntry tombstone = event(Op::kDelete, 2);
  tombstone.event.tombstone = true;
  ASSERT_TRUE(sink->apply(batch({event(Op::kDelete, 1), std::move(tombstone)}), no_rejects));
  EXPECT_EQ(rows("SELECT id FROM items ORDER BY id"), "3;");

  SinkConfig disabled;
  disabled.delete_enabled = false;
  auto keeper = open(disabled);
  auto stats = keeper->apply(batch({event(Op::kDelete, 3)}), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->skipped, 1u);
  EXPECT_EQ(rows("SELECT id FROM items ORDER BY id"), "3;");

  SinkConfig soft;
  soft.delete_mode = sluice::DeleteMode::kSoft;
  auto softer = open(soft);
  ASSERT_TRUE(softer->apply(batch({event(Op::kCreate, 4, "four"), event(Op::kCreate, 5)}), no_rejects));
  ASSERT_TRUE(softer->apply(batch({event(Op::kDelete, 4)}), no_rejects));
  EXPECT_EQ(rows("SELECT id, name, __deleted, __deleted_at IS NOT NULL FROM items WHERE id >= 4 ORDER BY id"),
            "4,four,t,t;5,n,f,f;");
}

TEST_F(SinkTest, TruncateWhenEnabled) {
  SinkConfig config;
  config.truncate_enabled = true;
  auto sink = open(config);
  BatchEntry truncate = event(Op::kCreate, 0);
  truncate.event.op = Op::kTruncate;
  auto stats = sink->apply(batch({event(Op::kCreate, 1), event(Op::kCreate, 2), std::move(truncate),
                                  event(Op::kCreate, 3)}),
                           no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(rows("SELECT id FROM items ORDER BY id"), "3;");
}

TEST_F(SinkTest, KafkaAndNoneAndRecordValueKeyModes) {
  SinkConfig kafka;
  kafka.primary_key_mode = sluice::PrimaryKeyMode::kKafka;
  auto by_offset = open(kafka);
  ASSERT_TRUE(by_offset->apply(batch({event(Op::kCreate, 1, "a", "1", "log"), event(Op::kUpdate, 1, "b", "1", "log")}),
                               no_rejects));
  EXPECT_EQ(rows("SELECT __connect_topic, __connect_partition, name FROM log ORDER BY __connect_offset"),
            "topic1,0,a;topic1,0,b;");

  SinkConfig none;
  none.primary_key_mode = sluice::PrimaryKeyMode::kNone;
  auto plain = open(none);
  ASSERT_TRUE(plain->apply(batch({event(Op::kCreate, 1, "a", "1", "plain"), event(Op::kCreate, 1, "a", "1", "plain")}),
                           no_rejects));
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM plain"), "2");

  SinkConfig by_value;
  by_value.primary_key_mode = sluice::PrimaryKeyMode::kRecordValue;
  by_value.primary_key_fields = {"name"};
  auto named = open(by_value);
  ASSERT_TRUE(named->apply(batch({event(Op::kCreate, 1, "x", "1", "named"), event(Op::kCreate, 2, "x", "2", "named"),
                                  event(Op::kCreate, 3, "y", "3", "named")}),
                           no_rejects));
  EXPECT_EQ(rows("SELECT name, id FROM named ORDER BY name"), "x,2;y,3;");
}

TEST_F(SinkTest, FieldIncludeAndExcludeLists) {
  SinkConfig config;
  config.field_exclude = {{"topic1", "qty"}};
  auto sink = open(config);
  ASSERT_TRUE(sink->apply(batch({event(Op::kCreate, 1)}), no_rejects));
  // id, name and the stale-event guard's position; qty is excluded.
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'items'"), "3");

  SinkConfig include;
  include.field_include = {{"topic1", "name"}, {"other_topic", "qty"}};
  auto narrow = open(include);
  ASSERT_TRUE(narrow->apply(batch({event(Op::kCreate, 1, "n", "1", "narrow")}), no_rejects));
  EXPECT_EQ(rows("SELECT column_name FROM information_schema.columns WHERE table_name = 'narrow' "
                 "ORDER BY ordinal_position"),
            "id;name;__sluice_position;");
}

TEST_F(SinkTest, FailedBeforeCommitLeavesNeitherRowsNorOffsets) {
  auto sink = open();
  auto failing = [](std::span<const SinkReject>) -> Status {
    return sluice::Error::transient("dlq_down", "dead-letter topic unavailable");
  };
  auto stats = sink->apply(batch({event(Op::kCreate, 1), event(Op::kCreate, 2)}), failing);
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().reason, "dlq_down");
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM sluice_offsets"), "0");
  EXPECT_EQ(query_value(url_, "SELECT to_regclass('items') IS NULL"), "t");
  // The sink is usable afterwards.
  ASSERT_TRUE(sink->apply(batch({event(Op::kCreate, 1)}), no_rejects));
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM items"), "1");
}

TEST_F(SinkTest, CheckViolationIsIsolatedWhileNeighboursCommit) {
  query(url_, "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, qty integer CHECK (qty >= 0))");
  auto sink = open();
  std::vector<BatchEntry> entries;
  for (int id = 1; id <= 40; ++id) entries.push_back(event(Op::kCreate, id, "n", id == 17 ? "-5" : "1"));
  entries.push_back(event(Op::kCreate, 41, kNull, "1"));
  entries.push_back(event(Op::kCreate, 42, "bad qty", "not a number"));
  size_t seen_rejects = 0;
  auto stats = sink->apply(batch(std::move(entries)), [&](std::span<const SinkReject> rejects) -> Status {
    seen_rejects = rejects.size();
    return {};
  });
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(seen_rejects, 3u);
  ASSERT_EQ(stats->rejects.size(), 3u);
  EXPECT_EQ(stats->rejects[0].entry_index, 16u);
  EXPECT_EQ(stats->rejects[0].reject.rule, "23514 check_violation");
  EXPECT_EQ(stats->rejects[0].reject.stage, sluice::Stage::kSink);
  EXPECT_EQ(stats->rejects[0].reject.table, "items");
  EXPECT_NE(stats->rejects[0].reject.message.find("items"), std::string::npos);
  EXPECT_NE(stats->rejects[0].reject.message.find("check constraint"), std::string::npos);
  EXPECT_EQ(stats->rejects[1].reject.rule, "23502 not_null_violation");
  EXPECT_EQ(stats->rejects[2].reject.rule, "22P02 invalid_text_representation");
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM items"), "39");
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM sluice_offsets"), "1");
}

TEST_F(SinkTest, TerminatedBackendIsTransientAndRetryAppliesOnce) {
  auto sink = open();
  ASSERT_TRUE(sink->apply(batch({event(Op::kCreate, 1, "a", "1")}), no_rejects));
  std::vector<BatchEntry> entries = {event(Op::kUpdate, 1, "b", "2"), event(Op::kCreate, 2, "c", "3")};
  Batch retried = batch(entries);
  std::string url = url_;
  auto terminate = [&](std::span<const SinkReject>) -> Status {
    query(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sluice' "
               "AND datname = current_database() AND pid <> pg_backend_pid()");
    return {};
  };
  auto failed = sink->apply(retried, terminate);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().error_class, sluice::ErrorClass::kTransient) << failed.error().message;
  EXPECT_EQ(rows("SELECT id, name FROM items ORDER BY id"), "1,a;");
  auto retry = sink->apply(retried, no_rejects);
  ASSERT_TRUE(retry) << retry.error().message;
  EXPECT_EQ(rows("SELECT id, name, qty FROM items ORDER BY id"), "1,b,2;2,c,3;");
  EXPECT_EQ(query_value(url_, "SELECT next_offset FROM sluice_offsets"), std::to_string(next_offset_));
}

TEST_F(SinkTest, RetryAfterAnInDoubtCommitSkipsABatchWhoseOffsetsAreStored) {
  auto sink = open();
  ASSERT_TRUE(sink->apply(batch({event(Op::kCreate, 1, "a", "1")}), no_rejects));
  Batch retried = batch({event(Op::kUpdate, 1, "b", "2")});
  std::string url = url_;
  auto terminate = [&](std::span<const SinkReject>) -> Status {
    query(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sluice' "
               "AND datname = current_database() AND pid <> pg_backend_pid()");
    return {};
  };
  auto failed = sink->apply(retried, terminate);
  ASSERT_FALSE(failed);
  // As if the COMMIT had reached the server before the connection dropped.
  query(url_, "UPDATE sluice_offsets SET next_offset = " + std::to_string(next_offset_));
  auto retry = sink->apply(retried, no_rejects);
  ASSERT_TRUE(retry) << retry.error().message;
  EXPECT_EQ(retry->applied, 0u);
  EXPECT_EQ(retry->skipped, 1u);
  EXPECT_EQ(query_value(url_, "SELECT name FROM items"), "a");
  // Later batches apply normally.
  ASSERT_TRUE(sink->apply(batch({event(Op::kUpdate, 1, "c", "3")}), no_rejects));
  EXPECT_EQ(query_value(url_, "SELECT name FROM items"), "c");
}

TEST_F(SinkTest, BackendTerminatedWhileAStatementWaitsIsTransient) {
  auto sink = open();
  ASSERT_TRUE(sink->apply(batch({event(Op::kCreate, 1, "a", "1")}), no_rejects));
  auto locker = sluice::pg::Connection::open({url_, "", ""});
  ASSERT_TRUE(locker) << locker.error().message;
  ASSERT_TRUE((*locker)->exec("BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE"));
  Batch retried = batch({event(Op::kUpdate, 1, "b", "2"), event(Op::kCreate, 2, "c", "3")});
  std::optional<sluice::Result<sluice::ApplyStats>> failed;
  std::thread applier([&] { failed.emplace(sink->apply(retried, no_rejects)); });
  const std::string waiting =
      "FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()";
  for (int i = 0; i < 500 && query_value(url_, "SELECT count(*) " + waiting) != "1"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  query(url_, "SELECT pg_terminate_backend(pid) " + waiting);
  applier.join();
  ASSERT_TRUE((*locker)->exec("ROLLBACK"));
  ASSERT_TRUE(failed.has_value());
  ASSERT_FALSE(*failed);
  EXPECT_EQ(failed->error().error_class, sluice::ErrorClass::kTransient) << failed->error().message;
  auto retry = sink->apply(retried, no_rejects);
  ASSERT_TRUE(retry) << retry.error().message;
  EXPECT_EQ(rows("SELECT id, name, qty FROM items ORDER BY id"), "1,b,2;2,c,3;");
  EXPECT_EQ(query_value(url_, "SELECT next_offset FROM sluice_offsets"), std::to_string(next_offset_));
}

TEST_F(SinkTest, HostileIdentifiersAreQuoted) {
  const std::string hostile_table = "x\"; DROP TABLE t; --";
  const std::string hostile_column = "c\"); DELETE FROM t; --";
  query(url_, "CREATE TABLE t (id int)");
  query(url_, "INSERT INTO t VALUES (1)");
  auto key = schema({col("id", FieldType::kInt64, false)});
  auto value = schema({col("id", FieldType::kInt64, false), col(hostile_column, FieldType::kString)});
  BatchEntry e;
  e.event.op = Op::kCreate;
  e.event.origin.topic = "topic1";
  e.event.table = sluice::TableName{"", hostile_table};
  e.event.key = row(key, {"1"});
  e.event.after = row(value, {"1", "it's \\ \"quoted\"\ttab\nline"});
  auto sink = open();
  auto stats = sink->apply(batch({std::move(e)}), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM t"), "1");
  EXPECT_EQ(query_value(url_, "SELECT relname FROM pg_class WHERE relname LIKE 'x%' AND relkind = 'r'"), hostile_table);
  EXPECT_EQ(query_value(url_, "SELECT \"c\"\"); DELETE FROM t; --\" FROM \"x\"\"; DROP TABLE t; --\""),
            "it's \\ \"quoted\"\ttab\nline");
}

// PostgreSQL keeps 63 bytes of a name: two columns sharing their first 63
// bytes would be one column (42701 duplicate_column, which stopped the stream),
// a longer table name would name another table. Such events, and names with a
// NUL byte, are rejected; names of exactly 63 bytes are written as they are.
TEST_F(SinkTest, IdentifiersPostgresCannotHoldExactlyAreRejectedNeverTruncated) {
  const std::string prefix(63, 'a');
  const std::string longest = std::string(60, 'b') + "\xC3\xA9z";  // 63 bytes, a two-byte character inside
  query(url_, "CREATE TABLE \"" + std::string(63, 't') + "\" (id bigint PRIMARY KEY)");
  query(url_, "INSERT INTO \"" + std::string(63, 't') + "\" VALUES (1)");
  auto with_columns = [&](int64_t id, const std::vector<std::string>& names) {
    BatchEntry e = event(Op::kCreate, id);
    std::vector<Column> columns = {col("id", FieldType::kInt64, false)};
    std::vector<std::string> values = {std::to_string(id)};
    for (const std::string& name : names) {
      columns.push_back(col(name, FieldType::kString));
      values.push_back("v" + std::to_string(id));
    }
    e.event.after = row(schema(columns), values);
    return e;
  };
  BatchEntry first = event(Op::kCreate, 1);
  BatchEntry colliding = with_columns(2, {prefix + "_first", prefix + "_second"});
  BatchEntry nul = with_columns(3, {std::string("na\0me", 5)});
  BatchEntry long_table = event(Op::kCreate, 4);
  long_table.event.table = sluice::TableName{"", std::string(63, 't') + "_long"};
  BatchEntry long_schema = event(Op::kCreate, 5);
  long_schema.event.table = sluice::TableName{std::string(64, 's'), "items"};
  // A truncate of the long name must not empty the table of its first 63 bytes.
  BatchEntry truncate = event(Op::kCreate, 0);
  truncate.event.op = Op::kTruncate;
  truncate.event.table = sluice::TableName{"", std::string(63, 't') + "_long"};
  BatchEntry delete_long_key = event(Op::kDelete, 6);
  delete_long_key.event.key = row(schema({col(prefix + "_id", FieldType::kInt64, false)}), {"6"});
  BatchEntry last = with_columns(7, {longest});
  SinkConfig config;
  config.truncate_enabled = true;
  auto sink = open(config);
  auto stats = sink->apply(batch({std::move(first), std::move(colliding), std::move(nul), std::move(long_table),
                                  std::move(long_schema), std::move(truncate), std::move(delete_long_key),
                                  std::move(last)}),
                           no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  ASSERT_EQ(stats->rejects.size(), 6u);
  std::vector<size_t> rejected;
  for (const SinkReject& r : stats->rejects) {
    rejected.push_back(r.entry_index);
    EXPECT_EQ(r.reject.stage, sluice::Stage::kSink);
    EXPECT_EQ(r.reject.rule, "invalid_identifier");
  }
  EXPECT_EQ(rejected, (std::vector<size_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(stats->rejects[0].reject.column, prefix + "_first");
  EXPECT_EQ(stats->rejects[0].reject.message,
            "cannot write topic1[0]@101: column of table \"items\": \"" + prefix +
                "_first\" is 69 bytes long; PostgreSQL keeps at most 63 bytes of an identifier (NAMEDATALEN - 1) "
                "and would truncate it");
  EXPECT_EQ(stats->rejects[1].reject.message,
            "cannot write topic1[0]@102: column of table \"items\": \"na\\x00me\" contains a NUL byte, which "
            "PostgreSQL identifiers cannot hold");
  EXPECT_EQ(stats->rejects[2].reject.table, std::string(63, 't') + "_long");
  EXPECT_NE(stats->rejects[2].reject.message.find("table name \"" + std::string(63, 't') + "_long\" is 68 bytes long"),
            std::string::npos)
      << stats->rejects[2].reject.message;
  EXPECT_NE(stats->rejects[3].reject.message.find("schema name \"" + std::string(64, 's') + "\" is 64 bytes long"),
            std::string::npos)
      << stats->rejects[3].reject.message;
  EXPECT_NE(stats->rejects[5].reject.message.find("key column of table \"items\": \"" + prefix + "_id\""),
            std::string::npos)
      << stats->rejects[5].reject.message;
  EXPECT_EQ(rows("SELECT id FROM items ORDER BY id"), "1;7;");
  EXPECT_EQ(query_value(url_, "SELECT \"" + longest + "\" FROM items WHERE id = 7"), "v7") << "63 bytes are kept";
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM \"" + std::string(63, 't') + "\""), "1") << "not truncated";
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM pg_attribute WHERE attname LIKE 'aaa%'"), "0");
  EXPECT_EQ(query_value(url_, "SELECT next_offset FROM sluice_offsets"), std::to_string(next_offset_))
      << "the offsets move past the rejects";
}

TEST_F(SinkTest, TypesRoundTripAsText) {
  Column decimal = col("amount", FieldType::kDecimal);
  decimal.precision = 12;
  decimal.scale = 3;
  Column ints = col("tags", FieldType::kArray);
  ints.element_type = FieldType::kInt32;
  Column texts = col("names", FieldType::kArray);
  texts.element_type = FieldType::kString;
  auto value = schema({col("id", FieldType::kInt64, false), decimal, col("big", FieldType::kVariableDecimal),
                       col("at", FieldType::kTimestamp), col("at_tz", FieldType::kTimestampTz),
                       col("day", FieldType::kDate), col("u", FieldType::kUuid), col("doc", FieldType::kJson),
                       col("raw", FieldType::kBytes), ints, texts, col("f", FieldType::kFloat64),
                       col("ok", FieldType::kBoolean), col("t", FieldType::kTime)});
  BatchEntry e;
  e.event.op = Op::kCreate;
  e.event.origin.topic = "topic1";
  e.event.table = sluice::TableName{"", "typed"};
  e.event.key = row(key_schema_, {"1"});
  e.event.after = row(value, {"1", "-12.340", "123456789012345678901234567890.000000001", "2024-02-29 13:45:00.123456",
                              "2024-02-29 13:45:00.123456+00", "0044-03-15 BC", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                              "{\"a\": [1, 2], \"b\": \"x\\ty\"}", std::string("\x00\x01\xff\\\t", 5), "[1,null,3]",
                              "[\"a\\\"b\",\"c,d\",null,\"\\\\\"]", "NaN", "true", "13:45:00.123456"});
  auto sink = open();
  auto stats = sink->apply(batch({std::move(e)}), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  ASSERT_TRUE(stats->rejects.empty()) << stats->rejects[0].reject.message;
  query(url_, "SET TIME ZONE 'UTC'");
  auto r = query(url_,
                 "SET TIME ZONE 'UTC'; SELECT amount::text, big::text, at::text, at_tz::text, day::text, u::text, "
                 "doc::text, encode(raw, 'hex'), tags::text, names::text, f::text, ok::text, t::text FROM typed");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0], "-12.340");
  EXPECT_EQ(r[0][1], "123456789012345678901234567890.000000001");
  EXPECT_EQ(r[0][2], "2024-02-29 13:45:00.123456");
  EXPECT_EQ(r[0][3], "2024-02-29 13:45:00.123456+00");
  EXPECT_EQ(r[0][4], "0044-03-15 BC");
  EXPECT_EQ(r[0][5], "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  EXPECT_EQ(r[0][6], "{\"a\": [1, 2], \"b\": \"x\\ty\"}");
  EXPECT_EQ(r[0][7], "0001ff5c09");
  EXPECT_EQ(r[0][8], "{1,NULL,3}");
  EXPECT_EQ(r[0][9], "{\"a\\\"b\",\"c,d\",NULL,\"\\\\\"}");
  EXPECT_EQ(r[0][10], "NaN");
  EXPECT_EQ(r[0][11], "true");
  EXPECT_EQ(r[0][12], "13:45:00.123456");
  EXPECT_EQ(query_value(url_, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                              "'typed'::regclass AND attname = 'amount'"),
            "numeric(12,3)");
}

TEST_F(SinkTest, AValueWithoutABinaryFormSendsItAndTheRowsAfterItAsText) {
  query(url_, "CREATE TABLE mixed (id bigint PRIMARY KEY, amount numeric, at timestamptz, __sluice_position bytea)");
  auto value = schema({col("id", FieldType::kInt64, false), col("amount", FieldType::kString),
                       col("at", FieldType::kString)});
  SinkConfig config;
  config.schema_evolution = sluice::SchemaEvolution::kNone;
  auto sink = open(config);
  std::vector<BatchEntry> entries;
  // Row 2's exponent and row 3's 'T' are PostgreSQL's to read.
  const std::vector<std::pair<std::string, std::string>> values = {{"1.5", "2024-01-01 10:00:00+02"},
                                                                   {"2e1", "2024-01-02 10:00:00+00"},
                                                                   {"3.25", "2024-01-03T10:00:00Z"},
                                                                   {"-4", "2024-01-04 10:00:00.5-01"}};
  for (size_t i = 0; i < values.size(); ++i) {
    BatchEntry e = event(Op::kCreate, static_cast<int64_t>(i + 1), "n", "1", "mixed");
    e.event.after = row(value, {std::to_string(i + 1), values[i].first, values[i].second});
    entries.push_back(std::move(e));
  }
  auto stats = sink->apply(batch(std::move(entries)), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  ASSERT_TRUE(stats->rejects.empty()) << stats->rejects[0].reject.message;
  EXPECT_EQ(rows("SET TIME ZONE 'UTC'; SELECT id, amount, at FROM mixed ORDER BY id"),
            "1,1.5,2024-01-01 08:00:00+00;2,20,2024-01-02 10:00:00+00;3,3.25,2024-01-03 10:00:00+00;"
            "4,-4,2024-01-04 11:00:00.5+00;");
}

TEST_F(SinkTest, MoreTypesRoundTrip) {
  Column structs = col("parts", FieldType::kArray);
  structs.element_type = FieldType::kStruct;
  auto value = schema({col("id", FieldType::kInt64, false), col("tz", FieldType::kTimeTz),
                       col("x", FieldType::kXml), col("e", FieldType::kEnum), col("y", FieldType::kYear),
                       col("m", FieldType::kMap), structs, col("g", FieldType::kGeometry),
                       col("small", FieldType::kInt16), col("r", FieldType::kFloat32),
                       col("ts_inf", FieldType::kTimestampTz), col("d", FieldType::kVariableDecimal)});
  BatchEntry e;
  e.event.op = Op::kCreate;
  e.event.origin.topic = "topic1";
  e.event.table = sluice::TableName{"", "more"};
  e.event.key = row(key_schema_, {"1"});
  e.event.after = row(value, {"1", "13:45:00.123+02", "<a>b</a>", "red", "2024", "{\"k\": \"v\"}",
                              "[{\"a\": 1}, {\"b\": [2]}]", std::string("\x01\x01\x00", 3), "-32768",
                              "-Infinity", "infinity", "NaN"});
  auto sink = open();
  auto stats = sink->apply(batch({std::move(e)}), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  ASSERT_TRUE(stats->rejects.empty()) << stats->rejects[0].reject.message;
  EXPECT_EQ(rows("SELECT tz::text, x::text, e, y::text, m::text, parts::text, encode(g, 'hex'), small::text, r::text, "
                 "ts_inf::text, d::text FROM more"),
            "13:45:00.123+02,<a>b</a>,red,2024,{\"k\": \"v\"},[{\"a\": 1}, {\"b\": [2]}],010100,-32768,-Infinity,"
            "infinity,NaN;");
}

TEST_F(SinkTest, SchemaEvolutionAddsAColumnMidStream) {
  auto sink = open();
  ASSERT_TRUE(sink->apply(batch({event(Op::kCreate, 1)}), no_rejects));
  auto wider = schema({col("id", FieldType::kInt64, false), col("name", FieldType::kString),
                       col("qty", FieldType::kInt64), col("note", FieldType::kString)});
  BatchEntry e = event(Op::kCreate, 2);
  e.event.after = row(wider, {"2", "two", "9000000000", "new"});
  auto stats = sink->apply(batch({event(Op::kCreate, 3), std::move(e)}), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(rows("SELECT id, qty, note FROM items ORDER BY id"), "1,1,NULL;2,9000000000,new;3,1,NULL;");
  EXPECT_EQ(query_value(url_, "SELECT data_type FROM information_schema.columns WHERE table_name = 'items' AND "
                              "column_name = 'qty'"),
            "bigint");

  SinkConfig frozen;
  frozen.schema_evolution = sluice::SchemaEvolution::kNone;
  auto fixed = open(frozen);
  auto extra = schema({col("id", FieldType::kInt64, false), col("name", FieldType::kString),
                       col("other", FieldType::kString)});
  BatchEntry f = event(Op::kCreate, 4);
  f.event.after = row(extra, {"4", "four", "ignored"});
  ASSERT_TRUE(fixed->apply(batch({std::move(f)}), no_rejects));
  EXPECT_EQ(rows("SELECT id, name FROM items WHERE id = 4"), "4,four;");
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'items'"), "5");
  auto missing = fixed->apply(batch({event(Op::kCreate, 1, "n", "1", "absent")}), no_rejects);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().error_class, sluice::ErrorClass::kFatal);
}

TEST_F(SinkTest, ATableChangedByAnotherSessionIsReloaded) {
  auto sink = open();
  ASSERT_TRUE(sink->apply(batch({event(Op::kCreate, 1, "a", "1")}), no_rejects));
  query(url_, "ALTER TABLE items DROP COLUMN qty");
  auto again = sink->apply(batch({event(Op::kCreate, 2, "b", "2")}), no_rejects);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(rows("SELECT id, name, qty FROM items ORDER BY id"), "1,a,NULL;2,b,2;") << "the column is added back";
  query(url_, "DROP TABLE items");
  auto recreated = sink->apply(batch({event(Op::kUpdate, 3, "c", "3")}), no_rejects);
  ASSERT_TRUE(recreated) << recreated.error().message;
  EXPECT_EQ(rows("SELECT id, name, qty FROM items ORDER BY id"), "3,c,3;");
  EXPECT_EQ(query_value(url_, "SELECT next_offset FROM sluice_offsets"), std::to_string(next_offset_));
}

TEST_F(SinkTest, TwoSinksCreatingTheSameTableAtOnceBothCommit) {
  auto first = open();
  auto second = open();
  // The first holds its transaction open after creating the table; the
  // second wants to create it too meanwhile, and must wait, not fail.
  std::thread holder([&] {
    auto stats = first->apply(batch({event(Op::kCreate, 1, "a", "1", "shared")}), [](std::span<const SinkReject>) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      return Status{};
    });
    EXPECT_TRUE(stats) << stats.error().message;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto stats = second->apply(batch({event(Op::kCreate, 2, "b", "2", "shared")}), no_rejects);
  holder.join();
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_TRUE(stats->rejects.empty()) << stats->rejects[0].reject.message;
  EXPECT_EQ(rows("SELECT id, name FROM shared ORDER BY id"), "1,a;2,b;");
}

TEST_F(SinkTest, SchemaEvolutionWidensAndKeepsTypesOfInferredColumns) {
  query(url_, "CREATE TABLE items (id bigint PRIMARY KEY, name varchar(5), qty smallint, price numeric(5,2), "
              "at timestamptz)");
  Column name = col("name", FieldType::kString);
  name.precision = 40;
  Column price = col("price", FieldType::kDecimal);
  price.precision = 10;
  price.scale = 3;
  Column at = col("at", FieldType::kString);  // schemaless: guessed from a JSON string
  at.inferred = true;
  auto value = schema({col("id", FieldType::kInt64, false), name, col("qty", FieldType::kInt32), price, at});
  BatchEntry e = event(Op::kCreate, 1);
  e.event.after = row(value, {"1", "a name longer than five", "40000", "1234567.125", "2024-01-02 03:04:05+00"});
  auto sink = open();
  auto stats = sink->apply(batch({std::move(e)}), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  ASSERT_TRUE(stats->rejects.empty()) << stats->rejects[0].reject.message;
  EXPECT_EQ(rows("SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale FROM "
                 "information_schema.columns WHERE table_name = 'items' ORDER BY ordinal_position"),
            "id,bigint,NULL,64,0;name,character varying,40,NULL,NULL;qty,integer,NULL,32,0;"
            "price,numeric,NULL,10,3;at,timestamp with time zone,NULL,NULL,NULL;__sluice_position,bytea,NULL,NULL,NULL;");
  EXPECT_EQ(rows("SELECT name, qty, price FROM items"), "a name longer than five,40000,1234567.125;");
}

TEST_F(SinkTest, SchemaQualifiedTablesAreCreated) {
  BatchEntry e = event(Op::kCreate, 1);
  e.event.table = sluice::TableName{"inventory", "orders"};
  auto sink = open();
  auto stats = sink->apply(batch({std::move(e)}), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM inventory.orders"), "1");
}

TEST_F(SinkTest, RejectMessageNamesTableSqlstateAndPostgresMessage) {
  query(url_, "CREATE TABLE items (id bigint PRIMARY KEY, name text, qty integer CHECK (qty >= 0))");
  auto sink = open();
  auto stats = sink->apply(batch({event(Op::kCreate, 1, "n", "-1")}), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  ASSERT_EQ(stats->rejects.size(), 1u);
  EXPECT_EQ(stats->rejects[0].reject.message.rfind("write into items failed (23514 check_violation) at topic1[0]@100: "
                                                   "ERROR:  new row for relation \"items\" violates check constraint",
                                                   0),
            0u)
      << stats->rejects[0].reject.message;
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM items"), "0");
  EXPECT_EQ(query_value(url_, "SELECT next_offset FROM sluice_offsets"), "101");
}

}  // namespace

namespace {

class StaleGuardTest : public SinkTest {};

TEST_F(StaleGuardTest, AnOlderEventDoesNotOverwriteANewerRow) {
  auto sink = open();
  ASSERT_TRUE(sink->apply(batch({at_lsn(10, Op::kCreate, 1, "first"), at_lsn(30, Op::kUpdate, 1, "third")}), no_rejects));
  auto stats = sink->apply(batch({at_lsn(20, Op::kUpdate, 1, "second"), at_lsn(5, Op::kCreate, 2, "other")}), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->stale, 1u);
  EXPECT_EQ(stats->applied, 1u);
  EXPECT_EQ(rows("SELECT id, name FROM items ORDER BY id"), "1,third;2,other;");
  // The same event again is not stale: re-delivery re-applies it idempotently.
  auto again = sink->apply(batch({at_lsn(30, Op::kUpdate, 1, "third")}), no_rejects);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->stale, 0u);
  EXPECT_EQ(rows("SELECT id, name FROM items ORDER BY id"), "1,third;2,other;");
}

TEST_F(StaleGuardTest, AnOlderDeleteLeavesTheNewerRowAndIsNotRemembered) {
  auto sink = open();
  ASSERT_TRUE(sink->apply(batch({at_lsn(10, Op::kCreate, 1, "a"), at_lsn(30, Op::kUpdate, 2, "b")}), no_rejects));
  // Key 1's delete is newer and applies; key 2's is older than its row; key 3 has no row.
  auto stats = sink->apply(batch({at_lsn(20, Op::kDelete, 1), at_lsn(25, Op::kDelete, 2), at_lsn(26, Op::kDelete, 3)}),
                           no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->stale, 1u);
  EXPECT_EQ(stats->applied, 2u);
  EXPECT_EQ(rows("SELECT id, name FROM items ORDER BY id"), "2,b;");
  EXPECT_EQ(rows("SELECT count(*) FROM sluice_deletes WHERE table_name = 'items'"), "2;")
      << "keys 1 and 3 only: the stale delete must not record a deletion of a live row";
  auto again = sink->apply(batch({at_lsn(40, Op::kUpdate, 2, "c")}), no_rejects);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->stale, 0u);
  EXPECT_EQ(rows("SELECT id, name FROM items ORDER BY id"), "2,c;");
}

TEST_F(StaleGuardTest, UpdateAndInsertModesSkipOlderEventsToo) {
  for (auto mode : {sluice::InsertMode::kUpdate, sluice::InsertMode::kInsert}) {
    SinkConfig config;
    config.insert_mode = mode;
    std::string table = mode == sluice::InsertMode::kUpdate ? "by_update" : "by_insert";
    query(url_, "CREATE TABLE " + table + " (id bigint PRIMARY KEY, name text, qty text, __sluice_position bytea)");
    auto sink = open(config);
    // update writes only rows that exist; a row without a position is never newer.
    if (mode == sluice::InsertMode::kUpdate) query(url_, "INSERT INTO " + table + " VALUES (1, 'seeded', '1', NULL)");
    auto first = sink->apply(batch({at_lsn(30, Op::kUpdate, 1, "new", table)}), no_rejects);
    ASSERT_TRUE(first && first->rejects.empty()) << table;
    auto older = at_lsn(20, Op::kUpdate, 1, "old", table);
    auto missing = at_lsn(20, Op::kUpdate, 2, "absent", table);
    auto stats = sink->apply(batch({std::move(older), std::move(missing)}), no_rejects);
    ASSERT_TRUE(stats) << stats.error().message;
    ASSERT_TRUE(stats->rejects.empty()) << stats->rejects[0].reject.message;
    EXPECT_EQ(stats->stale, 1u) << table << ": an older insert is skipped, not refused as a duplicate";
    std::string expected = mode == sluice::InsertMode::kUpdate ? "1,new;" : "1,new;2,absent;";
    EXPECT_EQ(rows("SELECT id, name FROM " + table + " ORDER BY id"), expected) << table;
  }
}

TEST_F(StaleGuardTest, WithinABatchTheNewestEventOfARowWins) {
  auto sink = open();
  auto stats = sink->apply(batch({at_lsn(50, Op::kCreate, 1, "newest"), at_lsn(40, Op::kUpdate, 1, "older")}),
                           no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->stale, 1u);
  EXPECT_EQ(rows("SELECT name FROM items"), "newest;");
}

TEST_F(StaleGuardTest, ADeletedRowIsNotResurrectedByOlderEvents) {
  auto sink = open();
  ASSERT_TRUE(sink->apply(batch({at_lsn(10, Op::kCreate, 1, "a"), at_lsn(30, Op::kDelete, 1)}), no_rejects));
  EXPECT_EQ(rows("SELECT count(*) FROM items"), "0;");
  EXPECT_EQ(rows("SELECT count(*) FROM sluice_deletes WHERE table_name = 'items'"), "1;");
  // A replayed create and update from before the delete: both stale.
  auto stats = sink->apply(batch({at_lsn(10, Op::kCreate, 1, "a"), at_lsn(20, Op::kUpdate, 1, "b")}), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->stale, 2u);
  EXPECT_EQ(rows("SELECT count(*) FROM items"), "0;");
  // A delete of a row that never arrived is remembered too.
  ASSERT_TRUE(sink->apply(batch({at_lsn(70, Op::kDelete, 9)}), no_rejects));
  auto late = sink->apply(batch({at_lsn(60, Op::kCreate, 9, "late")}), no_rejects);
  ASSERT_TRUE(late);
  EXPECT_EQ(late->stale, 1u);
  EXPECT_EQ(rows("SELECT count(*) FROM items"), "0;");
  // A create after the delete brings the row back and forgets the delete.
  ASSERT_TRUE(sink->apply(batch({at_lsn(40, Op::kCreate, 1, "again")}), no_rejects));
  EXPECT_EQ(rows("SELECT id, name FROM items"), "1,again;");
  EXPECT_EQ(rows("SELECT count(*) FROM sluice_deletes WHERE table_name = 'items' AND position IS NOT NULL"), "1;")
      << "only key 9's delete is left";
  // Tombstones carry no source position and leave the delete's alone.
  BatchEntry tombstone = event(Op::kDelete, 9);
  tombstone.event.tombstone = true;
  ASSERT_TRUE(sink->apply(batch({std::move(tombstone)}), no_rejects));
  auto still = sink->apply(batch({at_lsn(65, Op::kUpdate, 9, "late")}), no_rejects);
  ASSERT_TRUE(still);
  EXPECT_EQ(still->stale, 1u);
}

TEST_F(StaleGuardTest, TheDeletesTableIsKeyedByRowKeyFirstWithAnIndexOfTheTableNames) {
  auto sink = open();
  EXPECT_EQ(rows("SELECT indexdef FROM pg_indexes WHERE tablename = 'sluice_deletes' ORDER BY indexname"),
            "CREATE INDEX sluice_deletes_by_table ON public.sluice_deletes USING btree (table_name);"
            "CREATE UNIQUE INDEX sluice_deletes_pkey ON public.sluice_deletes USING btree (row_key, table_name);");
  ASSERT_TRUE(sink->apply(batch({at_lsn(10, Op::kCreate, 1, "a"), at_lsn(30, Op::kDelete, 1)}), no_rejects));
  auto stats = sink->apply(batch({at_lsn(20, Op::kUpdate, 1, "b"), at_lsn(20, Op::kCreate, 2, "c")}), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->stale, 1u);
  EXPECT_EQ(rows("SELECT id, name FROM items ORDER BY id"), "2,c;");
}

TEST_F(StaleGuardTest, ADeletesTableKeyedByTableNameFirstKeepsWorkingWithoutASecondIndex) {
  // As sluice created it before the row key led the key.
  query(url_, "CREATE TABLE sluice_deletes (table_name text NOT NULL, row_key bytea NOT NULL, position bytea NOT NULL, "
              "deleted_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (table_name, row_key))");
  auto sink = open();
  EXPECT_EQ(rows("SELECT indexname FROM pg_indexes WHERE tablename = 'sluice_deletes'"), "sluice_deletes_pkey;");
  ASSERT_TRUE(sink->apply(batch({at_lsn(10, Op::kCreate, 1, "a"), at_lsn(30, Op::kDelete, 1)}), no_rejects));
  EXPECT_EQ(rows("SELECT count(*) FROM sluice_deletes WHERE table_name = 'items'"), "1;");
  auto stats = sink->apply(batch({at_lsn(20, Op::kUpdate, 1, "b")}), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->stale, 1u);
  ASSERT_TRUE(sink->apply(batch({at_lsn(40, Op::kCreate, 1, "again")}), no_rejects));
  EXPECT_EQ(rows("SELECT id, name FROM items"), "1,again;");
  EXPECT_EQ(rows("SELECT count(*) FROM sluice_deletes"), "0;") << "the create after the delete forgets it";
}

TEST_F(StaleGuardTest, ARoleWithoutCreateWorksWithTheTablesItsAdministratorMade) {
  // README's least-privileged role: no CREATE on the schema (PostgreSQL 15's
  // default for public), the tables made by their owner. Without the index
  // of table names, which only the owner may add, the guard still works.
  const std::string role = sluice::testing::unique_name("sink_role");
  query(url_, "CREATE ROLE " + role + " LOGIN");
  query(url_, "CREATE TABLE items (id bigint PRIMARY KEY, name text, qty integer, __sluice_position bytea)");
  query(url_, "CREATE TABLE sluice_offsets (consumer_group text NOT NULL, topic text NOT NULL, partition integer NOT "
              "NULL, next_offset bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY "
              "(consumer_group, topic, partition))");
  query(url_, "CREATE TABLE sluice_deletes (table_name text NOT NULL, row_key bytea NOT NULL, position bytea NOT NULL, "
              "deleted_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (row_key, table_name))");
  query(url_, "GRANT SELECT, INSERT, UPDATE, DELETE ON items, sluice_offsets, sluice_deletes TO " + role);
  SinkConfig config;
  config.schema_evolution = sluice::SchemaEvolution::kNone;
  auto sink = sluice::pg::PostgresSink::open({url_, role, ""}, config, "group1");
  ASSERT_TRUE(sink) << sink.error().message;
  ASSERT_TRUE((*sink)->apply(batch({at_lsn(10, Op::kCreate, 1, "a"), at_lsn(30, Op::kDelete, 1)}), no_rejects));
  auto stats = (*sink)->apply(batch({at_lsn(20, Op::kUpdate, 1, "b"), at_lsn(20, Op::kCreate, 2, "c")}), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->stale, 1u);
  EXPECT_EQ(rows("SELECT id, name FROM items ORDER BY id"), "2,c;");
  EXPECT_EQ(rows("SELECT indexname FROM pg_indexes WHERE tablename = 'sluice_deletes'"), "sluice_deletes_pkey;");
}

TEST_F(StaleGuardTest, CreatesOfRowsThatExistAreUpsertedWithTheRestOfTheBatch) {
  // Creates go in by a plain INSERT; one whose row exists (a redelivery, a
  // replay, a snapshot read again) sends them all through the upsert.
  auto sink = open();
  ASSERT_TRUE(sink->apply(batch({at_lsn(10, Op::kCreate, 1, "a"), at_lsn(12, Op::kCreate, 3, "c")}), no_rejects));
  auto stats = sink->apply(batch({at_lsn(15, Op::kCreate, 1, "a again"), at_lsn(16, Op::kCreate, 2, "b"),
                                  at_lsn(5, Op::kRead, 3, "c before"), at_lsn(17, Op::kUpdate, 4, "d")}),
                           no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->applied, 3u);
  EXPECT_EQ(stats->stale, 1u) << "the snapshot read of key 3 is older than its row";
  EXPECT_EQ(rows("SELECT id, name FROM items ORDER BY id"), "1,a again;2,b;3,c;4,d;");
  // A delete and a create of the same key in one batch fold into a write of
  // a row that exists until the batch.
  auto again = sink->apply(batch({at_lsn(20, Op::kDelete, 2), at_lsn(21, Op::kCreate, 2, "b again"),
                                  at_lsn(22, Op::kCreate, 5, "e")}),
                           no_rejects);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->applied, 3u);
  EXPECT_EQ(rows("SELECT id, name FROM items ORDER BY id"), "1,a again;2,b again;3,c;4,d;5,e;");
  EXPECT_EQ(rows("SELECT count(*) FROM sluice_deletes"), "0;");
}

TEST_F(SinkTest, ACreateOfARowThatExistsIsUpsertedWithoutTheGuardToo) {
  SinkConfig config;
  config.stale_guard = false;
  auto sink = open(config);
  ASSERT_TRUE(sink->apply(batch({event(Op::kCreate, 1, "a")}), no_rejects));
  auto stats = sink->apply(batch({event(Op::kCreate, 1, "a again"), event(Op::kCreate, 2, "b")}), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->applied, 2u);
  EXPECT_EQ(rows("SELECT id, name FROM items ORDER BY id"), "1,a again;2,b;");
}

TEST_F(SinkTest, CreatesIntoATargetWithoutAPrimaryKeyStopAsUpsertsDo) {
  // ON CONFLICT needs a unique index on the key; a plain INSERT would not,
  // and would write a second row for a create delivered again.
  query(url_, "CREATE TABLE items (id bigint, name text, qty integer, __sluice_position bytea)");
  auto sink = open();
  auto stats = sink->apply(batch({event(Op::kCreate, 1, "a"), event(Op::kCreate, 2, "b")}), no_rejects);
  ASSERT_FALSE(stats);
  EXPECT_NE(stats.error().message.find("42P10"), std::string::npos) << stats.error().message;
  EXPECT_EQ(rows("SELECT count(*) FROM items"), "0;");
}

TEST_F(SinkTest, ACreateOfAnExistingRowThatAnotherConstraintRefusesFirstIsUpserted) {
  // The exclusion constraint's index is older than the primary key, so a
  // plain INSERT of an existing key fails on it (23P01), not on the key.
  query(url_, "CREATE TABLE items (id bigint, name text, qty integer, __sluice_position bytea, "
              "EXCLUDE USING btree (id WITH =)); ALTER TABLE items ADD PRIMARY KEY (id)");
  auto sink = open();
  ASSERT_TRUE(sink->apply(batch({event(Op::kCreate, 1, "a")}), no_rejects));
  auto stats = sink->apply(batch({event(Op::kCreate, 1, "a again"), event(Op::kCreate, 2, "b")}), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_TRUE(stats->rejects.empty()) << stats->rejects[0].reject.message;
  EXPECT_EQ(rows("SELECT id, name FROM items ORDER BY id"), "1,a again;2,b;");
}

TEST_F(SinkTest, ACreateThatBreaksAnotherUniqueIndexIsRejectedAlone) {
  query(url_, "CREATE TABLE items (id bigint PRIMARY KEY, name text UNIQUE, qty integer, __sluice_position bytea)");
  auto sink = open();
  ASSERT_TRUE(sink->apply(batch({event(Op::kCreate, 1, "taken")}), no_rejects));
  auto stats = sink->apply(batch({event(Op::kCreate, 2, "taken"), event(Op::kCreate, 3, "free")}), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  ASSERT_EQ(stats->rejects.size(), 1u);
  EXPECT_NE(stats->rejects[0].reject.message.find("23505 unique_violation"), std::string::npos)
      << stats->rejects[0].reject.message;
  EXPECT_EQ(rows("SELECT id, name FROM items ORDER BY id"), "1,taken;3,free;");
}

TEST_F(StaleGuardTest, ADeleteFollowedByItsTombstoneInOneBatchIsRemembered) {
  auto sink = open();
  BatchEntry tombstone = event(Op::kDelete, 1);
  tombstone.event.tombstone = true;
  auto stats = sink->apply(batch({at_lsn(10, Op::kCreate, 1, "a"), at_lsn(30, Op::kDelete, 1), std::move(tombstone)}),
                           no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(rows("SELECT count(*) FROM items"), "0;");
  auto replayed = sink->apply(batch({at_lsn(20, Op::kUpdate, 1, "b")}), no_rejects);
  ASSERT_TRUE(replayed);
  EXPECT_EQ(replayed->stale, 1u) << "the delete's position survives its tombstone";
  EXPECT_EQ(rows("SELECT count(*) FROM items"), "0;");
}

TEST_F(SinkTest, SoftDeleteOfARowCreatedInTheSameBatchKeepsItMarkedDeleted) {
  for (bool guard : {true, false}) {
    SinkConfig config;
    config.delete_mode = sluice::DeleteMode::kSoft;
    config.stale_guard = guard;
    std::string table = guard ? "soft_guarded" : "soft_plain";
    auto sink = open(config);
    BatchEntry tombstone = event(Op::kDelete, 1, "n", "1", table);
    tombstone.event.tombstone = true;
    auto stats = sink->apply(batch({event(Op::kCreate, 1, "a", "1", table), event(Op::kDelete, 1, "n", "1", table),
                                    std::move(tombstone), event(Op::kCreate, 2, "b", "2", table),
                                    event(Op::kDelete, 2, "n", "1", table), event(Op::kCreate, 2, "c", "3", table)}),
                             no_rejects);
    ASSERT_TRUE(stats) << stats.error().message;
    EXPECT_EQ(rows("SELECT id, name, qty, __deleted, __deleted_at IS NOT NULL FROM " + table + " ORDER BY id"),
              "1,a,1,t,t;2,c,3,f,f;")
        << "guard " << guard;
  }
}

TEST_F(SinkTest, SchemalessBase64DecimalsTakeTheScaleOfTheTargetColumn) {
  query(url_, "CREATE TABLE prices (id bigint PRIMARY KEY, amount numeric(12,2), plain numeric, code text, "
              "__sluice_position bytea)");
  Column amount = col("amount", FieldType::kString);  // schemaless: a JSON string
  amount.inferred = true;
  Column plain = col("plain", FieldType::kString);
  plain.inferred = true;
  Column code = col("code", FieldType::kString);
  code.inferred = true;
  auto value = schema({col("id", FieldType::kInt64, false), amount, plain, code});
  SinkConfig config;
  config.schema_evolution = sluice::SchemaEvolution::kNone;
  auto sink = open(config);
  std::vector<BatchEntry> entries;
  // "AeI6" is 123450 unscaled: 1234.50 at scale 2. "-1" and "1234" are decimal
  // literals (string mode) and stay as they are; text columns are untouched.
  for (auto [id, text] : {std::pair{1, "AeI6"}, std::pair{2, "/w=="}, std::pair{3, "1234"}, std::pair{4, "-1.5"}}) {
    BatchEntry e = event(Op::kCreate, id, "n", "1", "prices");
    e.event.after = row(value, {std::to_string(id), text, "12.5", "AeI6"});
    entries.push_back(std::move(e));
  }
  auto stats = sink->apply(batch(std::move(entries)), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  ASSERT_TRUE(stats->rejects.empty()) << stats->rejects[0].reject.message;
  EXPECT_EQ(rows("SELECT id, amount, plain, code FROM prices ORDER BY id"),
            "1,1234.50,12.5,AeI6;2,-0.01,12.5,AeI6;3,1234.00,12.5,AeI6;4,-1.50,12.5,AeI6;");
}

TEST_F(StaleGuardTest, SoftDeletesKeepTheirPosition) {
  SinkConfig config;
  config.delete_mode = sluice::DeleteMode::kSoft;
  auto sink = open(config);
  ASSERT_TRUE(sink->apply(batch({at_lsn(10, Op::kCreate, 1, "a")}), no_rejects));
  ASSERT_TRUE(sink->apply(batch({at_lsn(30, Op::kDelete, 1)}), no_rejects));
  auto stats = sink->apply(batch({at_lsn(20, Op::kUpdate, 1, "b")}), no_rejects);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->stale, 1u);
  EXPECT_EQ(rows("SELECT name, __deleted FROM items"), "a,t;");
}

TEST_F(StaleGuardTest, PositionsOfDifferentKindsAreNotCompared) {
  auto sink = open();
  ASSERT_TRUE(sink->apply(batch({at_lsn(1000, Op::kCreate, 1, "lsn")}), no_rejects));
  BatchEntry by_time = event(Op::kUpdate, 1, "time");
  by_time.event.source.position.kind = sluice::PositionKind::kTimestamp;
  by_time.event.source.position.parts = {5, 0, 0, 0};
  auto stats = sink->apply(batch({std::move(by_time)}), no_rejects);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->stale, 0u);
  EXPECT_EQ(rows("SELECT name FROM items"), "time;");
}

TEST_F(StaleGuardTest, TurnedOffOlderEventsOverwriteAndNoColumnIsAdded) {
  SinkConfig config;
  config.stale_guard = false;
  auto sink = open(config);
  ASSERT_TRUE(sink->apply(batch({at_lsn(30, Op::kCreate, 1, "newer")}), no_rejects));
  ASSERT_TRUE(sink->apply(batch({at_lsn(20, Op::kUpdate, 1, "older")}), no_rejects));
  EXPECT_EQ(rows("SELECT * FROM items"), "1,older,1;");
}

TEST_F(StaleGuardTest, AFixedSchemaWithoutThePositionColumnIsAClearError) {
  query(url_, "CREATE TABLE items (id bigint PRIMARY KEY, name text, qty integer)");
  SinkConfig config;
  config.schema_evolution = sluice::SchemaEvolution::kNone;
  auto sink = open(config);
  auto stats = sink->apply(batch({at_lsn(10, Op::kCreate, 1)}), no_rejects);
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().error_class, sluice::ErrorClass::kFatal);
  EXPECT_NE(stats.error().message.find("stale.guard.enabled"), std::string::npos) << stats.error().message;
  EXPECT_NE(stats.error().message.find("ADD COLUMN \"__sluice_position\" bytea"), std::string::npos)
      << stats.error().message;
  query(url_, "ALTER TABLE items ADD COLUMN __sluice_position bytea");
  ASSERT_TRUE(sink->apply(batch({at_lsn(10, Op::kCreate, 1)}), no_rejects));
  EXPECT_EQ(rows("SELECT id FROM items"), "1;");
}

}  // namespace

namespace {

// Geometry, nanosecond times and negative decimal scales, decoded from
// Debezium JSON as the pipeline does and written to PostgreSQL.
class FidelityTest : public SinkTest {
 protected:
  // A schema-carrying create event of table `table` with `fields` (Connect
  // schema JSON) and `after` (payload JSON).
  BatchEntry decoded(const std::string& table, int64_t id, const std::string& fields, const std::string& after) {
    std::string value = R"({"schema":{"type":"struct","optional":false,"fields":[{"type":"struct","optional":true,)"
                        R"("field":"after","fields":[{"type":"int64","optional":false,"field":"id"},)" +
                        fields + R"(]},{"type":"string","optional":false,"field":"op"}]},"payload":{"op":"c",)" +
                        R"("after":{"id":)" + std::to_string(id) + "," + after + "}}}";
    std::string key = R"({"id":)" + std::to_string(id) + "}";
    auto event = decoder_.decode(sluice::RawRecord::copy_of("topic1", sluice::Partition{0},
                                                            sluice::Offset{next_offset_++}, 0, key, value));
    EXPECT_TRUE(event.ok()) << event.error().message;
    BatchEntry e;
    if (event.ok()) e.event = std::move(*event);
    e.event.table = sluice::TableName{"", table};
    return e;
  }

  sluice::DebeziumDecoder decoder_{sluice::DecoderConfig{}};
};

std::string geometry_field(const std::string& name, const std::string& logical) {
  return R"({"type":"struct","optional":true,"name":"io.debezium.data.geometry.)" + logical + R"(","field":")" +
         name + R"(","fields":[{"type":"bytes","optional":false,"field":"wkb"},{"type":"int32","optional":true,"field":"srid"}]})";
}

// POINT(1 2) as little-endian WKB, base64.
constexpr const char* kPointWkb = "AQEAAAAAAAAAAADwPwAAAAAAAABA";
constexpr const char* kPointHex = "0101000000000000000000f03f0000000000000040";
constexpr const char* kPointEwkb4326Hex = "0101000020e6100000000000000000f03f0000000000000040";

TEST_F(FidelityTest, GeometryKeepsItsSridAsEwkbInByteaAndGeometryColumns) {
  // PostGIS is not installed here: text domains named geometry and geography
  // stand in for its types (the sink recognises them by name) and show what
  // PostGIS's input function receives.
  query(url_, "CREATE DOMAIN geometry AS text; CREATE DOMAIN geography AS text; "
              "CREATE TABLE places (id bigint PRIMARY KEY, raw bytea, g geometry, gg geography, __sluice_position bytea)");
  std::string fields = geometry_field("raw", "Geometry") + "," + geometry_field("g", "Point") + "," +
                       geometry_field("gg", "Geography") + "," + geometry_field("created", "Geometry");
  auto with_srid = [](const char* srid) {
    return std::string(R"({"wkb":")") + kPointWkb + R"(","srid":)" + srid + "}";
  };
  std::vector<BatchEntry> entries;
  entries.push_back(decoded("places", 1, fields,
                            R"("raw":)" + with_srid("4326") + R"(,"g":)" + with_srid("4326") + R"(,"gg":)" +
                                with_srid("4326") + R"(,"created":)" + with_srid("4326")));
  entries.push_back(decoded("places", 2, fields,
                            R"("raw":)" + with_srid("null") + R"(,"g":)" + with_srid("0") + R"(,"gg":)" +
                                with_srid("null") + R"(,"created":)" + with_srid("null")));
  ASSERT_EQ(entries[0].event.after->find("raw")->srid, 4326);
  auto sink = open();
  auto stats = sink->apply(batch(std::move(entries)), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  ASSERT_TRUE(stats->rejects.empty()) << stats->rejects[0].reject.message;
  // bytea (existing and created by schema evolution) holds EWKB, ready for
  // ST_GeomFromEWKB; the SRID is bytes 6-9 after the flagged type word.
  EXPECT_EQ(rows("SELECT id, encode(raw, 'hex'), g::text, gg::text, encode(created, 'hex') FROM places ORDER BY id"),
            std::string("1,") + kPointEwkb4326Hex + "," + kPointEwkb4326Hex + "," + kPointEwkb4326Hex + "," +
                kPointEwkb4326Hex + ";2," + kPointHex + "," + kPointHex + "," + kPointHex + "," + kPointHex + ";");
  EXPECT_EQ(rows("SELECT get_byte(raw, 4), get_byte(raw, 5) + 256 * get_byte(raw, 6) FROM places WHERE id = 1"),
            "32,4326;");
  EXPECT_EQ(query_value(url_, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                              "'places'::regclass AND attname = 'created'"),
            "bytea");
}

std::string time_fields() {
  return R"({"type":"int64","optional":true,"name":"io.debezium.time.NanoTimestamp","field":"ts"},)"
         R"({"type":"int64","optional":true,"name":"io.debezium.time.NanoTime","field":"t"},)"
         R"({"type":"string","optional":true,"name":"io.debezium.time.ZonedTimestamp","field":"tz"},)"
         R"({"type":"string","optional":true,"name":"io.debezium.time.ZonedTimestamp","field":"tz_text"})";
}

std::string times(const std::string& ts, const std::string& t, const std::string& tz) {
  return R"("ts":)" + ts + R"(,"t":)" + t + R"(,"tz":")" + tz + R"(","tz_text":")" + tz + R"(")";
}

TEST_F(FidelityTest, NanosecondsPostgresCannotKeepAreRejectedNotRounded) {
  query(url_, "CREATE TABLE clock (id bigint PRIMARY KEY, ts timestamp, t time, tz timestamptz, tz_text text, "
              "__sluice_position bytea)");
  std::vector<BatchEntry> entries;
  // Whole microseconds in nanosecond units pass.
  entries.push_back(decoded("clock", 1, time_fields(),
                            times("1709214300123456000", "49500123456000", "2024-02-29T13:45:00.123456000Z")));
  // One digit below the microsecond, in each field in turn.
  entries.push_back(decoded("clock", 2, time_fields(),
                            times("1709214300123456789", "49500123456000", "2024-02-29T13:45:00.123456Z")));
  entries.push_back(decoded("clock", 3, time_fields(),
                            times("1709214300123456000", "49500123456001", "2024-02-29T13:45:00.123456Z")));
  entries.push_back(decoded("clock", 4, time_fields(),
                            times("1709214300123456000", "49500123456000", "2024-02-29T13:45:00.1234567Z")));
  auto sink = open();
  auto stats = sink->apply(batch(std::move(entries)), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  ASSERT_EQ(stats->rejects.size(), 3u);
  const char* fields[] = {"after.ts", "after.t", "after.tz"};
  const char* values[] = {"2024-02-29 13:45:00.123456789", "13:45:00.123456001", "2024-02-29T13:45:00.1234567Z"};
  for (size_t i = 0; i < 3; ++i) {
    const sluice::Reject& reject = stats->rejects[i].reject;
    EXPECT_EQ(stats->rejects[i].entry_index, i + 1);
    EXPECT_EQ(reject.stage, sluice::Stage::kSink);
    EXPECT_EQ(reject.rule, "precision_loss");
    EXPECT_EQ(reject.table, "clock");
    EXPECT_NE(reject.message.find(std::string("field '") + fields[i] + "' value '" + values[i] + "'"),
              std::string::npos)
        << reject.message;
    EXPECT_NE(reject.message.find("below the microsecond"), std::string::npos) << reject.message;
  }
  EXPECT_EQ(rows("SET TIME ZONE 'UTC'; SELECT id, ts, t, tz, tz_text FROM clock"),
            "1,2024-02-29 13:45:00.123456,13:45:00.123456,2024-02-29 13:45:00.123456+00,"
            "2024-02-29T13:45:00.123456000Z;");
  EXPECT_EQ(query_value(url_, "SELECT next_offset FROM sluice_offsets"), std::to_string(next_offset_));
}

TEST_F(FidelityTest, NanosecondsAreTruncatedWhenConfiguredSo) {
  query(url_, "CREATE TABLE clock (id bigint PRIMARY KEY, ts timestamp, t time, tz timestamptz, tz_text text, "
              "__sluice_position bytea)");
  SinkConfig config;
  config.nanos_handling = sluice::NanosHandling::kTruncate;
  auto sink = open(config);
  // .9999999 would round up to the next second; truncation keeps the second.
  auto stats = sink->apply(
      batch({decoded("clock", 1, time_fields(),
                     times("1709214300999999999", "49500999999999", "2024-02-29T13:45:00.9999999Z"))}),
      no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  ASSERT_TRUE(stats->rejects.empty()) << stats->rejects[0].reject.message;
  // A text column keeps the value as it came.
  EXPECT_EQ(rows("SET TIME ZONE 'UTC'; SELECT ts, t, tz, tz_text FROM clock"),
            "2024-02-29 13:45:00.999999,13:45:00.999999,2024-02-29 13:45:00.999999+00,2024-02-29T13:45:00.9999999Z;");
}

TEST_F(FidelityTest, NegativeDecimalScalesAreExact) {
  // numeric(5,-2) (PostgreSQL 15) holds multiples of 100 up to 9999900.
  query(url_, "CREATE TABLE amounts (id bigint PRIMARY KEY, hundreds numeric(5,-2), plain numeric, "
              "__sluice_position bytea)");
  std::string fields =
      R"({"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"-2",)"
      R"("connect.decimal.precision":"5"},"field":"hundreds"},)"
      R"({"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"-2"},)"
      R"("field":"plain"},)"
      R"({"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"-3"},)"
      R"("field":"created"})";
  // "DA==" is 12, "/w==" is -1, "AYaf" is 99999.
  auto sink = open();
  auto stats = sink->apply(batch({decoded("amounts", 1, fields, R"("hundreds":"DA==","plain":"DA==","created":"DA==")"),
                                  decoded("amounts", 2, fields, R"("hundreds":"/w==","plain":"/w==","created":"/w==")"),
                                  decoded("amounts", 3, fields, R"("hundreds":"AYaf","plain":"AYaf","created":"AYaf")")}),
                           no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  ASSERT_TRUE(stats->rejects.empty()) << stats->rejects[0].reject.message;
  EXPECT_EQ(rows("SELECT id, hundreds, plain, created FROM amounts ORDER BY id"),
            "1,1200,1200,12000;2,-100,-100,-1000;3,9999900,9999900,99999000;");
}

TEST_F(FidelityTest, SchemalessBase64DecimalsTakeANegativeScaleOfTheTargetColumn) {
  query(url_, "CREATE TABLE amounts (id bigint PRIMARY KEY, hundreds numeric(5,-2), tenths numeric(4,-1), "
              "__sluice_position bytea)");
  Column hundreds = col("hundreds", FieldType::kString);
  hundreds.inferred = true;
  Column tenths = col("tenths", FieldType::kString);
  tenths.inferred = true;
  auto value = schema({col("id", FieldType::kInt64, false), hundreds, tenths});
  SinkConfig config;
  config.schema_evolution = sluice::SchemaEvolution::kNone;
  auto sink = open(config);
  BatchEntry e = event(Op::kCreate, 1, "n", "1", "amounts");
  e.event.after = row(value, {"1", "DA==", "DA=="});  // unscaled 12
  auto stats = sink->apply(batch({std::move(e)}), no_rejects);
  ASSERT_TRUE(stats) << stats.error().message;
  ASSERT_TRUE(stats->rejects.empty()) << stats->rejects[0].reject.message;
  EXPECT_EQ(rows("SELECT hundreds, tenths FROM amounts"), "1200,120;");
}

}  // namespace
