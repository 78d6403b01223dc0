// KafkaDeadLetterProducer against the dev broker: records arrive with their
// original bytes and the context headers; an outage is a transient failure
// that a retry after recovery overcomes.
#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dlq/kafka_dead_letter_producer.h"
#include "tests/support/consumed_record.h"
#include "tests/support/test_services.h"

namespace sluice {
namespace {

using testing::consumed_record;
using testing::ConsumedRecord;
using testing::consumer_from_start;
using testing::dev_broker;
using testing::unique_name;

std::vector<ConsumedRecord> consume_all(const std::string& topic, size_t expected) {
  std::unique_ptr<RdKafka::KafkaConsumer> consumer = consumer_from_start(topic);
  std::vector<ConsumedRecord> records;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (records.size() < expected && std::chrono::steady_clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> message(consumer->consume(200));
    if (message->err() != RdKafka::ERR_NO_ERROR) continue;
    records.push_back(consumed_record(*message));
  }
  consumer->close();
  return records;
}

Config config_for_broker() {
  Config config;
  config.kafka.properties = {{"bootstrap.servers", dev_broker().bootstrap_servers()}, {"group.id", "sluice"}};
  return config;
}

TEST(DeadLetterProducer, RecordsKeepTheirBytesAndGainContextHeaders) {
  std::string topic = unique_name("dlq");
  dev_broker().create_topic(topic, 1);
  Config config = config_for_broker();
  auto producer = dlq::KafkaDeadLetterProducer::create(config.kafka, config.errors, topic, [] { return 1234; });
  ASSERT_TRUE(producer) << producer.error().message;

  RawRecord bad_json = RawRecord::copy_of("dbserver1.inventory.orders", Partition{2}, Offset{41}, 1000, R"({"id":7})",
                                          "{not json", {{"traceparent", "00-1"}});
  RawRecord tombstone = RawRecord::copy_of("dbserver1.inventory.orders", Partition{0}, Offset{5}, 1000, "k", std::nullopt);
  ASSERT_TRUE((*producer)->send(bad_json, {Stage::kDecode, "malformed_json", "", "", "value: not JSON at offset 1"}, 1));
  ASSERT_TRUE((*producer)->send(tombstone, {Stage::kValidate, "key_missing", "orders", "id", "key has no id"}, 1));
  auto flushed = (*producer)->flush(std::chrono::seconds(10));
  ASSERT_TRUE(flushed) << flushed.error().message;

  auto records = consume_all(topic, 2);
  ASSERT_EQ(records.size(), 2u);
  const ConsumedRecord& first = records[0].value == "{not json" ? records[0] : records[1];
  const ConsumedRecord& second = records[0].value == "{not json" ? records[1] : records[0];
  EXPECT_EQ(first.key, R"({"id":7})");
  EXPECT_EQ(first.headers.at("traceparent"), "00-1");
  EXPECT_EQ(first.headers.at("__connect.errors.topic"), "dbserver1.inventory.orders");
  EXPECT_EQ(first.headers.at("__connect.errors.partition"), "2");
  EXPECT_EQ(first.headers.at("__connect.errors.offset"), "41");
  EXPECT_EQ(first.headers.at("__connect.errors.stage"), "decode");
  EXPECT_EQ(first.headers.at("__connect.errors.exception.message"), "value: not JSON at offset 1");
  EXPECT_EQ(first.headers.at("sluice.errors.rule"), "malformed_json");
  EXPECT_EQ(first.headers.at("sluice.errors.timestamp"), "1234");
  EXPECT_EQ(first.headers.at("sluice.errors.attempt"), "1");
  EXPECT_EQ(second.value, std::nullopt);
  EXPECT_EQ(second.headers.at("sluice.errors.table"), "orders");
  EXPECT_EQ((*producer)->delivered(), 2u);
}

TEST(DeadLetterProducer, OutageIsTransientAndARetryAfterRecoveryDelivers) {
  std::string topic = unique_name("dlq_outage");
  dev_broker().create_topic(topic, 1);
  Config config = config_for_broker();
  auto producer = dlq::KafkaDeadLetterProducer::create(config.kafka, config.errors, topic);
  ASSERT_TRUE(producer) << producer.error().message;
  // Connect first, so the outage hits an established producer.
  RawRecord warmup = RawRecord::copy_of("t", Partition{0}, Offset{0}, 0, std::nullopt, "warmup");
  ASSERT_TRUE((*producer)->send(warmup, {Stage::kDecode, "r", "", "", "m"}, 1));
  ASSERT_TRUE((*producer)->flush(std::chrono::seconds(10)));

  ASSERT_EQ(dev_broker().control("broker-down -1"), "ok");
  RawRecord record = RawRecord::copy_of("t", Partition{0}, Offset{1}, 0, std::nullopt, "during-outage");
  ASSERT_TRUE((*producer)->send(record, {Stage::kDecode, "r", "", "", "m"}, 1));
  auto during = (*producer)->flush(std::chrono::milliseconds(1500));
  ASSERT_EQ(dev_broker().control("broker-up -1"), "ok");
  ASSERT_FALSE(during);
  EXPECT_EQ(during.error().error_class, ErrorClass::kTransient) << during.error().message;

  // The pipeline's retry: the batch's rejects again, once the broker is back.
  // The failed flush discarded the copy it could not deliver, so the record
  // arrives once.
  ASSERT_TRUE((*producer)->send(record, {Stage::kDecode, "r", "", "", "m"}, 1));
  auto after = (*producer)->flush(std::chrono::seconds(20));
  ASSERT_TRUE(after) << after.error().message;
  auto records = consume_all(topic, 3);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records.back().value, "during-outage");
}

}  // namespace
}  // namespace sluice
