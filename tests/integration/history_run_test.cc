// `sluice run` end to end with a history and a changelog table beside the
// replica: Debezium JSON records on the dev broker, one run until caught up,
// then the exact replica, versions, changelog and stored offsets; a second run
// finds nothing to do.
#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/test_services.h"

namespace sluice {
namespace {

using namespace std::chrono_literals;
using testing::dev_broker;
using testing::postgres;
using testing::query_value;
using testing::rows;
using testing::SluiceProcess;
using testing::unique_name;

constexpr int64_t kEpochSeconds = 1767225600;  // 2026-01-01 00:00:00 UTC; commit times are this + lsn seconds

// A schemaless Debezium envelope of table public.customers at source lsn `lsn`.
std::string envelope(const std::string& op, int64_t id, const std::string& name, int64_t lsn) {
  std::string image = R"({"id":)" + std::to_string(id) + R"(,"name":")" + name + R"("})";
  std::string before = op == "d" || op == "u" ? image : "null";
  std::string after = op == "d" ? "null" : image;
  return R"({"before":)" + before + R"(,"after":)" + after +
         R"(,"source":{"connector":"postgresql","db":"shop","schema":"public","table":"customers","ts_ms":)" +
         std::to_string((kEpochSeconds + lsn) * 1000) + R"(,"lsn":)" + std::to_string(lsn) + R"(},"op":")" + op +
         R"(","ts_ms":)" + std::to_string((kEpochSeconds + lsn) * 1000 + 5) + "}";
}

void produce(const std::string& topic, const std::vector<std::pair<int64_t, std::string>>& records) {
  std::string error;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", dev_broker().bootstrap_servers(), error);
  conf->set("enable.idempotence", "true", error);
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), error));
  if (!producer) throw std::runtime_error("producer: " + error);
  for (const auto& [id, value] : records) {
    std::string key = R"({"id":)" + std::to_string(id) + "}";
    auto code = producer->produce(topic, 0, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
                                  value.size(), key.data(), key.size(), 0, nullptr);
    if (code != RdKafka::ERR_NO_ERROR) throw std::runtime_error(RdKafka::err2str(code));
  }
  if (producer->flush(30000) != RdKafka::ERR_NO_ERROR) throw std::runtime_error("flush timed out");
}

TEST(HistoryRun, OneTopicFeedsTheReplicaItsHistoryAndItsChangelog) {
  const std::string name = unique_name("history_run");
  const std::string topic = name + ".customers";
  const std::string dlq = name + ".dlq";
  dev_broker().create_topic(topic, 1);
  dev_broker().create_topic(dlq, 1);
  const std::string url = postgres().create_database(name);
  produce(topic, {{1, envelope("c", 1, "a", 10)},
                  {2, envelope("c", 2, "x", 15)},
                  {1, envelope("u", 1, "b", 20)},
                  {1, envelope("d", 1, "b", 30)},
                  {1, envelope("c", 1, "c", 40)},
                  {2, envelope("u", 2, "y", 50)}});

  const std::string config_path = "/tmp/" + name + ".properties";
  std::ofstream(config_path) << testing::sluice_properties(topic, name, url, dlq,
                                                           "history.table.name.format = history.${source.table}\n"
                                                           "changelog.table.name.format = orders_log\n");
  for (int run = 1; run <= 2; ++run) {
    SluiceProcess sluice({"run", "--config", config_path, "--until-caught-up"},
                         "/tmp/" + name + "_" + std::to_string(run) + ".log");
    ASSERT_EQ(sluice.wait(120s), std::optional<int>(0)) << sluice.log();
  }

  EXPECT_EQ(rows(url, "SELECT id, name FROM orders ORDER BY id"), "1,c;2,y;");
  const std::string since = " - " + std::to_string(kEpochSeconds) + ")::bigint";
  EXPECT_EQ(rows(url, "SELECT id, name, (extract(epoch FROM __valid_from)" + since + ", (extract(epoch FROM __valid_to)" +
                          since + ", __is_current, __deleted FROM history.customers ORDER BY id, __sluice_position"),
            "1,a,10,20,f,f;1,b,20,30,f,f;1,b,30,30,f,t;1,c,40,NULL,t,f;2,x,15,50,f,f;2,y,50,NULL,t,f;");
  EXPECT_EQ(rows(url, "SELECT __connect_offset, __op, id, name FROM orders_log ORDER BY __connect_offset"),
            "0,c,1,a;1,c,2,x;2,u,1,b;3,d,1,b;4,c,1,c;5,u,2,y;");
  EXPECT_EQ(query_value(url, "SELECT next_offset FROM sluice_offsets WHERE topic = '" + topic + "'"), "6");
}

}  // namespace
}  // namespace sluice
