// Robustness: outages of PostgreSQL and of the broker while `sluice run`
// applies a generated workload. sluice must wait, resume by itself and reach
// the exact final state; no record may reach the dead-letter topic because of
// the outage, the stored offsets must equal the end offsets, and no event may
// be applied twice (an audit trigger records every write of a row version;
// a version written by two committed transactions would appear twice).
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <thread>

#include "connectors/kafka/kafka_topic_reader.h"
#include "debezium_workload.h"
#include "dlq/dead_letter_record.h"
#include "tests/support/test_services.h"
#include "tests/support/workload_checks.h"

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;
using workload::DebeziumWorkload;

constexpr int kPartitions = 24;  // 20k events of ~2.5 KB: well under ~5 MB per partition

class OutageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = unique_name("outage");
    database_url_ = postgres().create_database(name_);
    // The test server runs with synchronous_commit = off, with which an
    // immediate stop loses commits PostgreSQL already acknowledged -- no
    // consumer can survive that. A production server keeps what it acknowledged.
    query(database_url_, "ALTER DATABASE " + name_ + " SET synchronous_commit = on");
    topic_ = name_ + "_orders";
    dlq_ = name_ + "_dlq";
    dev_broker().create_topic(topic_, kPartitions);
    dev_broker().create_topic(dlq_, 4);
    workload::WorkloadSpec spec;
    spec.events = 20'000;
    spec.seed = 20261202;
    spec.partitions = kPartitions;
    ProducedWorkload produced = produce_workload(spec, topic_);
    workload_ = std::move(produced.workload);
    malformed_ = std::move(produced.malformed);
    end_offsets_ = std::move(produced.end_offsets);
    config_path_ = "/tmp/" + name_ + ".properties";
    std::ofstream config(config_path_);
    // Small batches, so the outage falls in the middle of the run.
    config << sluice_properties(topic_, name_, database_url_, dlq_, "errors.retry.delay.max.ms = 1000\nbatch.size = 500\n");
  }
  void TearDown() override { std::remove(config_path_.c_str()); }

  std::unique_ptr<SluiceProcess> start() {
    return std::make_unique<SluiceProcess>(std::vector<std::string>{"run", "--config", config_path_, "--until-caught-up"},
                                           "/tmp/" + name_ + ".log");
  }

  int64_t committed_events() {
    if (query_value(database_url_, "SELECT to_regclass('sluice_offsets') IS NOT NULL") != "t") return 0;
    return std::stoll(
        query_value(database_url_, "SELECT coalesce(sum(next_offset), 0) FROM sluice_offsets").value_or("0"));
  }

  // Waits until at least `events` are committed, then installs the audit trigger.
  void wait_for_progress(SluiceProcess& process, int64_t events) {
    auto deadline = std::chrono::steady_clock::now() + 300s;
    while (committed_events() < events) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << process.log();
      ASSERT_FALSE(process.wait(0ms).has_value()) << "sluice ended early\n" << process.log();
      std::this_thread::sleep_for(20ms);
    }
    query(database_url_,
          "CREATE TABLE audit (id bigint, position bytea);"
          "CREATE FUNCTION audit_write() RETURNS trigger LANGUAGE plpgsql AS "
          "$$ BEGIN INSERT INTO audit VALUES (NEW.id, NEW.__sluice_position); RETURN NEW; END $$;"
          "CREATE TRIGGER audit AFTER INSERT OR UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION audit_write()");

  }

  void expect_exact_outcome(SluiceProcess& process) {
    EXPECT_EQ(process.wait(300s), std::optional<int>(0)) << process.log();
    expect_exact_state();
    EXPECT_EQ(query_value(database_url_, "SELECT count(*) FROM (SELECT id, position FROM audit GROUP BY 1, 2 "
                                         "HAVING count(*) > 1) AS twice"),
              "0")
        << "no event applied twice";
    EXPECT_NE(query_value(database_url_, "SELECT count(*) FROM audit"), "0") << "the audit saw writes after the outage";
  }

  // The table, the stored offsets and the dead-letter topic are exactly what
  // the workload calls for.
  void expect_exact_state() {
    EXPECT_EQ(rows_differing(database_url_, "orders", *workload_), 0) << "exact final state";
    std::map<int32_t, int64_t> stored;
    for (const auto& row : query(database_url_, "SELECT partition, next_offset FROM sluice_offsets WHERE topic = '" +
                                                    topic_ + "'")) {
      stored[std::stoi(*row[0])] = std::stoll(*row[1]);
    }
    EXPECT_EQ(stored, end_offsets_) << "stored offsets equal the end offsets";

    KafkaConfig kafka;
    kafka.properties = {{"bootstrap.servers", dev_broker().bootstrap_servers()}, {"group.id", name_ + "_reader"}};
    auto reader = kafka::KafkaTopicReader::open(kafka, dlq_, 10s);
    ASSERT_TRUE(reader) << reader.error().message;
    std::set<RecordAt> dead;
    ASSERT_TRUE((*reader)->read_all(
        [&](const RawRecord& record) {
          auto info = dlq::read_dead_letter(record);
          EXPECT_EQ(info.stage, "decode") << info.message;
          dead.insert({info.partition.value, info.offset.value});
        },
        30s));
    EXPECT_EQ(dead, malformed_) << "only the malformed records reach the dead-letter topic, none for the outage";
  }

  std::string name_, database_url_, topic_, dlq_, config_path_;
  std::unique_ptr<DebeziumWorkload> workload_;
  std::map<int32_t, int64_t> end_offsets_;
  std::set<RecordAt> malformed_;
};

TEST_F(OutageTest, PostgresStoppedImmediatelyMidRunAndStartedAgain) {
  auto process = start();
  wait_for_progress(*process, static_cast<int64_t>(workload_->records().size()) / 4);
  postgres().stop("immediate");
  std::this_thread::sleep_for(3s);
  EXPECT_FALSE(process->wait(0ms).has_value()) << "sluice waits for PostgreSQL\n" << process->log();
  postgres().start();
  expect_exact_outcome(*process);
  EXPECT_NE(process->log().find("retrying"), std::string::npos) << process->log();
}

TEST_F(OutageTest, BrokerDownMidRunAndUpAgain) {
  auto process = start();
  wait_for_progress(*process, static_cast<int64_t>(workload_->records().size()) / 4);
  ASSERT_EQ(dev_broker().control("broker-down 1"), "ok");
  std::this_thread::sleep_for(3s);
  EXPECT_FALSE(process->wait(0ms).has_value()) << "sluice waits for the broker\n" << process->log();
  ASSERT_EQ(dev_broker().control("broker-up 1"), "ok");
  expect_exact_outcome(*process);
}

// A failover to a standby that was behind (or a restore) loses transactions
// PostgreSQL had acknowledged, stored offsets included, while the consumer has
// read past their events. sluice must notice on reconnecting and stop rather
// than leave those events unapplied; a restart applies them from the stored
// offsets. Restoring a copy of the data directory makes the loss certain.
TEST_F(OutageTest, PostgresLosingCommittedTransactionsStopsSluiceAndARestartAppliesThemAgain) {
  const int64_t events = static_cast<int64_t>(workload_->records().size());
  const std::string data_dir = postgres().data_dir();
  const std::string snapshot = data_dir + ".snapshot";
  auto process = start();
  wait_for_progress(*process, events / 5);
  postgres().stop("fast");
  ASSERT_EQ(std::system(("rm -rf '" + snapshot + "' && cp -a '" + data_dir + "' '" + snapshot + "'").c_str()), 0);
  postgres().start();
  const int64_t at_snapshot = committed_events();
  auto deadline = std::chrono::steady_clock::now() + 300s;
  while (committed_events() < at_snapshot + events / 5) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << process->log();
    ASSERT_FALSE(process->wait(0ms).has_value()) << "sluice ended before the loss\n" << process->log();
    std::this_thread::sleep_for(20ms);
  }
  postgres().stop("immediate");
  ASSERT_EQ(std::system(("rm -rf '" + data_dir + "' && mv '" + snapshot + "' '" + data_dir + "'").c_str()), 0);
  postgres().start();
  ASSERT_EQ(committed_events(), at_snapshot) << "the restored server lost the later commits";

  EXPECT_EQ(process->wait(120s), std::optional<int>(1)) << process->log();
  EXPECT_NE(process->log().find("PostgreSQL lost committed transactions"), std::string::npos) << process->log();
  auto restarted = start();
  EXPECT_EQ(restarted->wait(300s), std::optional<int>(0)) << restarted->log();
  expect_exact_state();
}

}  // namespace
}  // namespace sluice::testing
