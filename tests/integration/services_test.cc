// The test services are real: a message produced through the dev broker comes
// back through a consumer group, and a table written through libpq reads back.
#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <map>
#include <set>
#include <memory>
#include <string>

#include "sinks/postgres/connection.h"
#include "tests/support/test_services.h"

namespace {

using sluice::testing::dev_broker;
using sluice::testing::postgres;
using sluice::testing::unique_name;

std::unique_ptr<RdKafka::Conf> conf(const std::map<std::string, std::string>& settings) {
  std::unique_ptr<RdKafka::Conf> c(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  for (const auto& [key, value] : settings) {
    EXPECT_EQ(c->set(key, value, error), RdKafka::Conf::CONF_OK) << key << ": " << error;
  }
  return c;
}

TEST(Services, ProduceAndConsumeThroughTheDevBroker) {
  std::string topic = unique_name("services_topic");
  dev_broker().create_topic(topic, 3);
  std::string error;
  auto producer_conf = conf({{"bootstrap.servers", dev_broker().bootstrap_servers()}, {"enable.idempotence", "true"}});
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(producer_conf.get(), error));
  ASSERT_TRUE(producer) << error;
  constexpr int kCount = 30;
  for (int i = 0; i < kCount; ++i) {
    std::string key = "k" + std::to_string(i), value = "v" + std::to_string(i);
    ASSERT_EQ(producer->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                                value.data(), value.size(), key.data(), key.size(), 0, nullptr),
              RdKafka::ERR_NO_ERROR);
  }
  ASSERT_EQ(producer->flush(10000), RdKafka::ERR_NO_ERROR);

  auto consumer_conf = conf({{"bootstrap.servers", dev_broker().bootstrap_servers()},
                             {"group.id", unique_name("services_group")},
                             {"auto.offset.reset", "earliest"},
                             {"enable.auto.commit", "false"}});
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(consumer_conf.get(), error));
  ASSERT_TRUE(consumer) << error;
  ASSERT_EQ(consumer->subscribe({topic}), RdKafka::ERR_NO_ERROR);
  std::set<std::string> seen;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (seen.size() < kCount && std::chrono::steady_clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> message(consumer->consume(200));
    if (message->err() == RdKafka::ERR_NO_ERROR) {
      seen.insert(std::string(static_cast<const char*>(message->payload()), message->len()));
    }
  }
  consumer->close();
  EXPECT_EQ(seen.size(), static_cast<size_t>(kCount));
  EXPECT_TRUE(seen.contains("v0"));
  EXPECT_TRUE(seen.contains("v29"));
}

TEST(Services, CreateWriteAndReadATableThroughLibpq) {
  std::string database = unique_name("services_db");
  std::string url = postgres().create_database(database);
  auto connection = sluice::pg::Connection::open({url, "", ""});
  ASSERT_TRUE(connection) << connection.error().message;
  auto& conn = **connection;
  ASSERT_TRUE(conn.exec("CREATE TABLE items (id bigint PRIMARY KEY, price numeric(12,2), name text)"));
  ASSERT_TRUE(conn.exec("INSERT INTO items VALUES (1, 9.99, 'first'), (2, 12345678.90, 'second')"));
  auto rows = sluice::testing::query(url, "SELECT id, price, name FROM items ORDER BY id");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1][1], "12345678.90");
  EXPECT_EQ(rows[1][2], "second");

  auto failed = conn.exec("INSERT INTO items VALUES (1, 1, 'duplicate')");
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().reason, "23505");
}

TEST(Services, JdbcUrlsAreAccepted) {
  std::string url = postgres().url();
  std::string jdbc = "jdbc:" + url;
  auto connection = sluice::pg::Connection::open({jdbc, "", ""});
  ASSERT_TRUE(connection) << connection.error().message;
  auto result = (*connection)->exec("SELECT 1");
  ASSERT_TRUE(result);
}

}  // namespace
