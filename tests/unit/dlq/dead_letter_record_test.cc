#include "dlq/dead_letter_record.h"

#include <gtest/gtest.h>

#include "dlq/dead_letter_headers.h"
#include "dlq/dead_letter_stats.h"

namespace sluice::dlq {
namespace {

// A record as the dead-letter producer writes it.
RawRecord dead_letter(std::vector<std::pair<std::string, std::optional<std::string>>> extra = {}) {
  std::vector<std::pair<std::string, std::optional<std::string>>> headers = {
      {"traceparent", "00-abc"},
      {"__connect.errors.topic", "dbserver1.inventory.orders"},
      {"__connect.errors.partition", "3"},
      {"__connect.errors.offset", "1842"},
      {"__connect.errors.stage", "validate"},
      {"__connect.errors.exception.message", "quantity = -5 violates min:0"},
      {"sluice.errors.rule", "min:0"},
      {"sluice.errors.table", "inventory.orders"},
      {"sluice.errors.column", "quantity"},
      {"sluice.errors.timestamp", "1700000001234"},
      {"sluice.errors.attempt", "1"},
  };
  for (auto& [key, value] : extra) {
    std::erase_if(headers, [&](const auto& h) { return h.first == key; });
    headers.emplace_back(key, value);
  }
  return RawRecord::copy_of("orders.dlq", Partition{1}, Offset{7}, 1700000000000, "{\"id\":1}", "{\"v\":1}",
                            std::move(headers));
}

TEST(DeadLetterRecord, ReadsEveryContextHeader) {
  DeadLetterRecord info = read_dead_letter(dead_letter());
  EXPECT_TRUE(info.has_origin);
  EXPECT_EQ(info.topic, "dbserver1.inventory.orders");
  EXPECT_EQ(info.partition.value, 3);
  EXPECT_EQ(info.offset.value, 1842);
  EXPECT_EQ(info.stage, "validate");
  EXPECT_EQ(info.rule, "min:0");
  EXPECT_EQ(info.table, "inventory.orders");
  EXPECT_EQ(info.column, "quantity");
  EXPECT_EQ(info.message, "quantity = -5 violates min:0");
  EXPECT_EQ(info.failed_ms, 1700000001234);
  EXPECT_EQ(info.attempt, 1);
  EXPECT_EQ(info.record_timestamp_ms, 1700000000000);
  EXPECT_EQ(info.dlq_topic, "orders.dlq");
  EXPECT_EQ(info.dlq_offset.value, 7);
}

TEST(DeadLetterRecord, MalformedCoordinatesMeanNoLineage) {
  for (const char* bad : {"3x", "", "-1", "99999999999", " 3"}) {
    DeadLetterRecord info = read_dead_letter(dead_letter({{"__connect.errors.partition", bad}}));
    EXPECT_FALSE(info.has_origin) << "partition '" << bad << "'";
  }
  EXPECT_FALSE(read_dead_letter(dead_letter({{"__connect.errors.offset", std::nullopt}})).has_origin);
  EXPECT_FALSE(read_dead_letter(dead_letter({{"__connect.errors.topic", ""}})).has_origin);
  DeadLetterRecord attempt = read_dead_letter(dead_letter({{"sluice.errors.attempt", "zero"}}));
  EXPECT_EQ(attempt.attempt, 1) << "an unreadable attempt counts as the first";
}

TEST(DeadLetterRecord, ReplayRecordKeepsBytesDropsContextHeadersAndCarriesLineage) {
  RawRecord consumed = dead_letter({{"sluice.errors.attempt", "2"}});
  auto replayed = replay_record(consumed, read_dead_letter(consumed));
  ASSERT_TRUE(replayed);
  EXPECT_EQ(replayed->topic, "orders.dlq") << "offsets stay those of the dead-letter topic";
  EXPECT_EQ(replayed->offset.value, 7);
  EXPECT_EQ(replayed->value, consumed.value);
  EXPECT_EQ(replayed->key, consumed.key);
  ASSERT_EQ(replayed->headers.size(), 1u);
  EXPECT_EQ(replayed->headers[0].key, "traceparent");
  ASSERT_NE(replayed->lineage, nullptr);
  EXPECT_EQ(replayed->lineage->topic, "dbserver1.inventory.orders");
  EXPECT_EQ(replayed->lineage->partition.value, 3);
  EXPECT_EQ(replayed->lineage->offset.value, 1842);
  EXPECT_EQ(replayed->lineage->attempt, 2);

  RawRecord orphan = dead_letter({{"__connect.errors.topic", std::nullopt}});
  auto refused = replay_record(orphan, read_dead_letter(orphan));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().reason, "missing_lineage");
}

TEST(DeadLetterRecord, FiltersMatchEveryFieldTheySet) {
  DeadLetterRecord info = read_dead_letter(dead_letter());
  EXPECT_TRUE(matches({}, info));
  ReplayFilters stage;
  stage.stage = "sink";
  EXPECT_FALSE(matches(stage, info));
  stage.stage = "validate";
  EXPECT_TRUE(matches(stage, info));
  ReplayFilters reason;
  reason.reason_contains = "violates";  // in the message
  EXPECT_TRUE(matches(reason, info));
  reason.reason_contains = "min:";  // in the rule
  EXPECT_TRUE(matches(reason, info));
  reason.reason_contains = "max:";
  EXPECT_FALSE(matches(reason, info));
  ReplayFilters where;
  where.source_topic = "dbserver1.inventory.orders";
  where.table = "inventory.orders";
  EXPECT_TRUE(matches(where, info));
  where.table = "orders";
  EXPECT_FALSE(matches(where, info));
  ReplayFilters time;
  time.since_ms = 1700000000000;  // inclusive
  time.until_ms = 1700000000001;  // exclusive
  EXPECT_TRUE(matches(time, info));
  time.until_ms = 1700000000000;
  EXPECT_FALSE(matches(time, info));
  ReplayFilters failed;
  failed.failed_since_ms = 1700000001235;
  EXPECT_FALSE(matches(failed, info));
  failed.failed_since_ms = 1700000001234;
  EXPECT_TRUE(matches(failed, info));
  DeadLetterRecord untimed = read_dead_letter(dead_letter({{"sluice.errors.timestamp", std::nullopt}}));
  EXPECT_FALSE(matches(failed, untimed)) << "a failure-time filter needs the failure time";
}

TEST(DeadLetterStats, CountsByStageReasonTopicAndTableWithTimesAndSamples) {
  DeadLetterStats stats;
  stats.add(read_dead_letter(dead_letter()));
  stats.add(read_dead_letter(dead_letter({{"sluice.errors.timestamp", "1700000009999"}})));
  stats.add(read_dead_letter(dead_letter({{"__connect.errors.stage", "decode"},
                                          {"sluice.errors.rule", "malformed_json"},
                                          {"sluice.errors.table", ""},
                                          {"sluice.errors.attempt", "2"}})));
  EXPECT_EQ(stats.total(), 3);
  EXPECT_EQ(stats.by_stage().at("validate"), 2);
  EXPECT_EQ(stats.by_stage().at("decode"), 1);
  EXPECT_EQ(stats.by_reason().at("min:0"), 2);
  EXPECT_EQ(stats.by_reason().at("malformed_json"), 1);
  EXPECT_EQ(stats.by_topic().at("dbserver1.inventory.orders"), 3);
  EXPECT_EQ(stats.by_table().at("(none)"), 1);
  std::string json = stats.json("orders.dlq");
  EXPECT_NE(json.find("\"total\":3"), std::string::npos) << json;
  EXPECT_NE(json.find("\"failed_again\":1"), std::string::npos) << json;
  EXPECT_NE(json.find("\"oldest_failure\":\"2023-11-14T22:13:21.234Z\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"newest_failure\":\"2023-11-14T22:13:29.999Z\""), std::string::npos) << json;
  EXPECT_NE(json.find("dbserver1.inventory.orders[3]@1842"), std::string::npos) << json;
  std::string text = stats.text("orders.dlq");
  EXPECT_NE(text.find("dead-letter topic orders.dlq: 3 record(s), 1 failed again after a replay"), std::string::npos)
      << text;
  EXPECT_NE(text.find("min:0  dbserver1.inventory.orders[3]@1842  quantity = -5 violates min:0"), std::string::npos)
      << text;
}

TEST(DeadLetterStats, IsoTimeHandlesEpochAndBefore) {
  EXPECT_EQ(iso_time(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(iso_time(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(iso_time(1709210096789), "2024-02-29T12:34:56.789Z");
}

}  // namespace
}  // namespace sluice::dlq
