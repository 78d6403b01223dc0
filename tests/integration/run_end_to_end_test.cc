// `sluice run` end to end: generated Debezium events (creates, updates,
// deletes, tombstones and 2% malformed records) in a topic with many
// partitions, the real sluice binary, a real PostgreSQL and the dev broker.
// Each scenario checks the table against the generator's expected final state,
// the stored offsets against the end offsets, and the dead-letter topic against
// the malformed records.
// SLUICE_E2E_EVENTS overrides the number of events (default 200000).
#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "debezium_workload.h"
#include "tests/support/test_services.h"
#include "tests/support/workload_checks.h"
#include "workload_producer.h"

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;
using workload::DebeziumWorkload;

constexpr size_t kMaxBytesPerPartition = 3'500'000;  // the dev broker keeps about 5 MB per partition
constexpr int32_t kDeadLetterPartitions = 16;

struct Coordinates {
  int32_t partition;
  int64_t offset;
  auto operator<=>(const Coordinates&) const = default;
};

// The workload, produced once for all scenarios.
struct ProducedWorkload {
  std::unique_ptr<DebeziumWorkload> workload;
  std::string topic;
  int partitions = 0;
  std::map<int32_t, int64_t> end_offsets;          // partition -> next offset
  std::map<Coordinates, std::string> malformed;    // coordinates -> reason
};

ProducedWorkload& produced() {
  static ProducedWorkload shared = [] {
    ProducedWorkload out;
    workload::WorkloadSpec spec;
    if (const char* events = std::getenv("SLUICE_E2E_EVENTS")) spec.events = std::stoull(events);
    spec.seed = 20261123;
    // Size the topic so that no partition outgrows what the dev broker keeps.
    workload::WorkloadSpec probe = spec;
    probe.events = std::min<uint64_t>(spec.events, 2000);
    double bytes_per_event = static_cast<double>(DebeziumWorkload::generate(probe).payload_bytes()) /
                             static_cast<double>(probe.events);
    spec.partitions = std::max(16, static_cast<int>(bytes_per_event * static_cast<double>(spec.events) /
                                                    kMaxBytesPerPartition) + 1);
    out.workload = std::make_unique<DebeziumWorkload>(DebeziumWorkload::generate(spec));
    out.partitions = spec.partitions;
    out.topic = unique_name("e2e_orders");
    dev_broker().create_topic(out.topic, out.partitions);
    auto coordinates = workload::produce(*out.workload, {dev_broker().bootstrap_servers(), out.topic, {}, 0, SIZE_MAX});
    const auto& records = out.workload->records();
    for (size_t i = 0; i < records.size(); ++i) {
      auto [partition, offset] = coordinates[i];
      out.end_offsets[partition] = std::max(out.end_offsets[partition], offset + 1);
      if (!records[i].invalid.empty()) out.malformed[{partition, offset}] = records[i].invalid;
    }
    std::cerr << "e2e: " << records.size() << " records (" << out.workload->payload_bytes() / 1'000'000 << " MB, "
              << out.workload->invalid_records() << " malformed) in " << out.partitions << " partitions of "
              << out.topic << "; " << out.workload->expected_rows() << " rows expected\n";
    return out;
  }();
  return shared;
}

// One scenario's own database, consumer group and dead-letter topic.
struct Scenario {
  std::string name;
  std::string database_url;
  std::string group;
  std::string dlq;
  std::string config_path;

  explicit Scenario(const std::string& prefix) {
    name = unique_name(prefix);
    database_url = postgres().create_database(name);
    group = name + "_group";
    dlq = name + "_dlq";
    // Dead letters keep the original bytes: spread them so that no partition
    // outgrows what the dev broker keeps.
    dev_broker().create_topic(dlq, kDeadLetterPartitions);
    config_path = "/tmp/" + name + ".properties";
    std::ofstream config(config_path);
    config << sluice_properties(produced().topic, group, database_url, dlq);
  }
  ~Scenario() { std::remove(config_path.c_str()); }

  std::unique_ptr<SluiceProcess> start(bool until_caught_up, const std::string& log_suffix = "") const {
    std::vector<std::string> arguments = {"run", "--config", config_path};
    if (until_caught_up) arguments.push_back("--until-caught-up");
    return std::make_unique<SluiceProcess>(arguments, "/tmp/" + name + log_suffix + ".log");
  }

  // Runs sluice --until-caught-up to its end and returns its log.
  std::string run_until_caught_up(const std::string& log_suffix = "") const {
    auto process = start(true, log_suffix);
    auto code = process->wait(600s);
    EXPECT_EQ(code, std::optional<int>(0)) << process->log();
    return process->log();
  }

  // Rows differing between the table and the expected final state (both ways).
  int64_t rows_differing() const {
    return testing::rows_differing(database_url, "orders", *produced().workload);
  }

  int64_t table_rows() const { return std::stoll(query_value(database_url, "SELECT count(*) FROM orders").value()); }

  std::map<int32_t, int64_t> stored_offsets() const {
    std::map<int32_t, int64_t> offsets;
    for (const auto& row : query(database_url, "SELECT partition, next_offset FROM sluice_offsets WHERE consumer_group = '" +
                                                   group + "' AND topic = '" + produced().topic + "'")) {
      offsets[std::stoi(*row[0])] = std::stoll(*row[1]);
    }
    return offsets;
  }

  int64_t committed_events() const {
    auto value = query_value(database_url,
                             "SELECT coalesce(sum(next_offset), 0) FROM sluice_offsets WHERE consumer_group = '" +
                                 group + "'");
    return std::stoll(value.value());
  }

  // Every record of the dead-letter topic: the original coordinates (from the
  // __connect.errors.* headers) and the headers themselves.
  std::vector<std::pair<Coordinates, std::map<std::string, std::string>>> dead_letters() const {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string error;
    conf->set("bootstrap.servers", dev_broker().bootstrap_servers(), error);
    conf->set("group.id", name + "_reader", error);
    conf->set("enable.auto.commit", "false", error);
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
    if (!consumer) throw std::runtime_error(error);
    std::vector<std::pair<Coordinates, std::map<std::string, std::string>>> out;
    std::map<int32_t, int64_t> next;  // partition -> next offset to read
    std::map<int32_t, int64_t> high;  // partition -> end offset
    std::vector<RdKafka::TopicPartition*> assignment;
    for (int32_t partition = 0; partition < kDeadLetterPartitions; ++partition) {
      int64_t low = 0;
      if (consumer->query_watermark_offsets(dlq, partition, &low, &high[partition], 10000) != RdKafka::ERR_NO_ERROR) {
        throw std::runtime_error("cannot read the watermarks of " + dlq);
      }
      EXPECT_EQ(low, 0) << "the dev broker dropped dead letters of partition " << partition;
      next[partition] = low;
      assignment.push_back(RdKafka::TopicPartition::create(dlq, partition, low));
    }
    consumer->assign(assignment);
    RdKafka::TopicPartition::destroy(assignment);
    auto caught_up = [&] {
      for (const auto& [partition, offset] : next) {
        if (offset < high[partition]) return false;
      }
      return true;
    };
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!caught_up() && std::chrono::steady_clock::now() < deadline) {
      std::unique_ptr<RdKafka::Message> message(consumer->consume(200));
      if (message->err() != RdKafka::ERR_NO_ERROR) continue;
      next[message->partition()] = message->offset() + 1;
      std::map<std::string, std::string> headers;
      if (RdKafka::Headers* all = message->headers()) {
        for (const auto& header : all->get_all()) {
          headers[header.key()] = std::string(static_cast<const char*>(header.value()), header.value_size());
        }
      }
      out.push_back({Coordinates{std::stoi(headers["__connect.errors.partition"]),
                                 std::stoll(headers["__connect.errors.offset"])},
                     headers});
    }
    consumer->close();
    EXPECT_TRUE(caught_up()) << "could not read the whole dead-letter topic " << dlq;
    return out;
  }

  // The dead-letter topic holds the malformed records and nothing else
  // (`exactly_once`: each once; otherwise a crash may have repeated some).
  void expect_dead_letters_are_the_malformed_records(bool exactly_once) const {
    auto letters = dead_letters();
    std::set<Coordinates> seen;
    for (const auto& [coordinates, headers] : letters) {
      auto expected = produced().malformed.find(coordinates);
      ASSERT_NE(expected, produced().malformed.end())
          << "a valid record reached the dead-letter topic: " << produced().topic << "[" << coordinates.partition
          << "]@" << coordinates.offset << ": " << headers.at("__connect.errors.exception.message");
      EXPECT_EQ(headers.at("__connect.errors.topic"), produced().topic);
      EXPECT_EQ(headers.at("__connect.errors.stage"), "decode");
      EXPECT_EQ(headers.at("workload.invalid"), expected->second) << "original headers are kept";
      EXPECT_FALSE(headers.at("__connect.errors.exception.message").empty());
      seen.insert(coordinates);
    }
    EXPECT_EQ(seen.size(), produced().malformed.size()) << "every malformed record reaches the dead-letter topic";
    if (exactly_once) {
      EXPECT_EQ(letters.size(), produced().malformed.size()) << "no duplicates";
    }
  }

  void expect_exact_final_state() const {
    EXPECT_EQ(table_rows(), static_cast<int64_t>(produced().workload->expected_rows()));
    EXPECT_EQ(rows_differing(), 0) << "the table equals the expected final state";
    EXPECT_EQ(stored_offsets(), produced().end_offsets) << "stored offsets equal the end offsets";
  }
};

int64_t consumed_in(const std::string& log) {
  // The summary line: "...: consumed N, applied M, ..."
  size_t at = log.rfind("consumed ");
  if (at == std::string::npos) return -1;
  return std::stoll(log.substr(at + 9));
}

TEST(RunEndToEnd, ReachesTheExactFinalStateAndARestartFindsNothingToDo) {
  Scenario scenario("e2e_single");
  std::string log = scenario.run_until_caught_up();
  EXPECT_EQ(consumed_in(log), static_cast<int64_t>(produced().workload->records().size())) << log;
  scenario.expect_exact_final_state();
  scenario.expect_dead_letters_are_the_malformed_records(/*exactly_once=*/true);

  auto offsets_written = query_value(scenario.database_url, "SELECT max(updated_at)::text FROM sluice_offsets");
  std::string again = scenario.run_until_caught_up("_again");
  EXPECT_EQ(consumed_in(again), 0) << again;
  EXPECT_EQ(query_value(scenario.database_url, "SELECT max(updated_at)::text FROM sluice_offsets"), offsets_written)
      << "a restart commits nothing";
  scenario.expect_exact_final_state();
  scenario.expect_dead_letters_are_the_malformed_records(/*exactly_once=*/true);
}

// Moving from another consumer of the group (a Kafka Connect sink, say) that
// had read everything: sluice starts at the group's committed offsets, finds
// nothing to apply, and --until-caught-up ends instead of waiting for offsets
// it will never store.
TEST(RunEndToEnd, TheGroupsCommittedOffsetsAtTheEndLeaveNothingToDoAndUntilCaughtUpEnds) {
  Scenario scenario("e2e_moved");
  {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string error;
    conf->set("bootstrap.servers", dev_broker().bootstrap_servers(), error);
    conf->set("group.id", scenario.group, error);
    std::unique_ptr<RdKafka::KafkaConsumer> previous(RdKafka::KafkaConsumer::create(conf.get(), error));
    ASSERT_TRUE(previous) << error;
    std::vector<RdKafka::TopicPartition*> offsets;
    for (const auto& [partition, end] : produced().end_offsets) {
      offsets.push_back(RdKafka::TopicPartition::create(produced().topic, partition, end));
    }
    EXPECT_EQ(previous->commitSync(offsets), RdKafka::ERR_NO_ERROR);
    RdKafka::TopicPartition::destroy(offsets);
    previous->close();
  }
  auto process = scenario.start(true);
  ASSERT_EQ(process->wait(120s), std::optional<int>(0)) << process->log();
  EXPECT_EQ(consumed_in(process->log()), 0) << process->log();
  EXPECT_EQ(query_value(scenario.database_url, "SELECT to_regclass('orders') IS NULL"), "t") << "nothing applied";
}

TEST(RunEndToEnd, TwoInstancesSplitThePartitionsAndReachTheSameState) {
  Scenario scenario("e2e_pair");
  auto first = scenario.start(true, "_first");
  auto second = scenario.start(true, "_second");
  // Whichever ends first ends only once nothing is left for the other.
  auto deadline = std::chrono::steady_clock::now() + 600s;
  while (!first->wait(0ms) && !second->wait(0ms) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(scenario.stored_offsets(), produced().end_offsets) << "the first instance to end left work undone";
  EXPECT_EQ(first->wait(600s), std::optional<int>(0)) << first->log();
  EXPECT_EQ(second->wait(600s), std::optional<int>(0)) << second->log();
  int64_t consumed_first = consumed_in(first->log());
  int64_t consumed_second = consumed_in(second->log());
  EXPECT_GT(consumed_first, 0) << first->log();
  EXPECT_GT(consumed_second, 0) << second->log();
  EXPECT_GE(consumed_first + consumed_second, static_cast<int64_t>(produced().workload->records().size()));
  scenario.expect_exact_final_state();
  scenario.expect_dead_letters_are_the_malformed_records(/*exactly_once=*/false);
}

TEST(RunEndToEnd, KillDashNineMidRunThenRestartReachesTheSameState) {
  Scenario scenario("e2e_kill");
  auto total = static_cast<int64_t>(produced().workload->records().size());
  {
    auto process = scenario.start(false, "_killed");
    auto deadline = std::chrono::steady_clock::now() + 600s;
    // Kill once some but not all batches are committed.
    while (std::chrono::steady_clock::now() < deadline) {
      ASSERT_FALSE(process->wait(0ms).has_value()) << process->log();
      bool table_exists = query_value(scenario.database_url, "SELECT to_regclass('sluice_offsets') IS NOT NULL") == "t";
      if (table_exists && scenario.committed_events() >= total / 3) break;
      std::this_thread::sleep_for(50ms);
    }
    process->send_signal(SIGKILL);
    EXPECT_EQ(process->wait(30s), std::optional<int>(128 + SIGKILL));
  }
  int64_t committed = scenario.committed_events();
  EXPECT_GE(committed, total / 3);
  EXPECT_LT(committed, total) << "killed before the end";

  std::string log = scenario.run_until_caught_up("_restarted");
  EXPECT_EQ(consumed_in(log), total - committed) << "the restart resumes from the stored offsets";
  scenario.expect_exact_final_state();
  scenario.expect_dead_letters_are_the_malformed_records(/*exactly_once=*/false);
}

}  // namespace
}  // namespace sluice::testing
