// `sluice replay` and `sluice dlq stats` end to end: 20k generated Debezium
// events of which about 5% are rejected by a rule and 2% are malformed; the
// rule is lifted and the dead-letter topic replayed. The table must then equal
// the state of applying every valid event once in source order (the stale-event
// guard skips rejects of rows that were later updated or deleted), the parking
// topic must hold exactly the malformed records, a second replay must change
// nothing, and the stats must count what the dead-letter topic holds.
#include <gtest/gtest.h>

#include <map>
#include <cctype>
#include <set>

#include "connectors/kafka/kafka_topic_reader.h"
#include "debezium_workload.h"
#include "dlq/dead_letter_record.h"
#include "tests/support/sluice_command.h"
#include "tests/support/test_services.h"
#include "tests/support/workload_checks.h"

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;
using workload::DebeziumWorkload;

constexpr int kDeadLetterPartitions = 4;
// customer_id is uniform in 1..100000: about 5% of the rows break this rule,
// and so do their creates and updates.
constexpr const char* kRule = "max:95000";

struct DeadLetter {
  dlq::DeadLetterRecord info;
  std::map<std::string, std::string> headers;
};

std::vector<DeadLetter> read_topic(const std::string& topic) {
  KafkaConfig kafka;
  kafka.properties = {{"bootstrap.servers", dev_broker().bootstrap_servers()}, {"group.id", topic + "_reader"}};
  auto reader = kafka::KafkaTopicReader::open(kafka, topic, 10s);
  if (!reader) throw std::runtime_error(reader.error().message);
  std::vector<DeadLetter> out;
  auto status = (*reader)->read_all(
      [&](const RawRecord& record) {
        DeadLetter letter{dlq::read_dead_letter(record), {}};
        for (const RecordHeader& header : record.headers) {
          letter.headers[std::string(header.key)] = header.value ? std::string(*header.value) : "";
        }
        out.push_back(std::move(letter));
      },
      30s);
  if (!status) throw std::runtime_error(status.error().message);
  return out;
}

// The number after `what ` in the replay's summary line, or -1.
int64_t summary_count(const std::string& log, const std::string& what) {
  size_t line = log.rfind("replay of ");
  if (line == std::string::npos) return -1;
  size_t at = log.find(what + " ", line);
  if (at == std::string::npos) return -1;
  at += what.size() + 1;
  size_t end = at;
  while (end < log.size() && std::isdigit(static_cast<unsigned char>(log[end]))) ++end;
  return end == at ? -1 : std::stoll(log.substr(at, end - at));
}

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = unique_name("replay");
    database_url_ = postgres().create_database(name_);
    topic_ = name_ + "_orders";
    dlq_ = name_ + "_dlq";
    dev_broker().create_topic(dlq_, kDeadLetterPartitions);
    dev_broker().create_topic(dlq_ + ".parking", 2);

    ProducedWorkload produced = produce_20k_workload(topic_);
    workload_ = std::move(produced.workload);
    malformed_ = std::move(produced.malformed);

    config_path_ = write_config(sluice_properties(topic_, name_, database_url_, dlq_, "batch.size = 2000\n"));
  }
  void TearDown() override { std::remove(config_path_.c_str()); }

  // Runs sluice with `arguments` after the command and the config; returns its log.
  std::string sluice(std::vector<std::string> arguments, int expected_exit = 0) {
    size_t command_words = arguments[0] == "dlq" ? 2 : 1;
    arguments.insert(arguments.begin() + static_cast<long>(command_words), {"--config", config_path_});
    SluiceProcess process(arguments, "/tmp/" + name_ + "_" + std::to_string(++runs_) + ".log");
    EXPECT_EQ(process.wait(300s), std::optional<int>(expected_exit)) << process.log();
    return process.log();
  }

  int64_t rows_differing() { return testing::rows_differing(database_url_, "orders", *workload_); }

  // A digest of every row, to show that a replay changed nothing.
  std::string table_digest() {
    return query_value(database_url_, "SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM orders AS t").value_or("");
  }

  std::string name_, database_url_, topic_, dlq_, config_path_;
  std::unique_ptr<DebeziumWorkload> workload_;
  std::set<RecordAt> malformed_;
  int runs_ = 0;
};

TEST_F(ReplayTest, LiftedRuleReplayReachesTheSourceStateAndASecondReplayChangesNothing) {
  // Live run with the rule: its rejects and the malformed records go to the DLQ.
  sluice({"run", "--until-caught-up", "--set", std::string("validate.orders.customer_id=") + kRule});
  ASSERT_GT(rows_differing(), 0) << "the rule kept rows out of the table";

  auto letters = read_topic(dlq_);
  int64_t by_rule = 0, decode = 0;
  std::set<RecordAt> rejected_by_rule;
  for (const auto& letter : letters) {
    ASSERT_TRUE(letter.info.has_origin);
    EXPECT_EQ(letter.info.topic, topic_);
    EXPECT_EQ(letter.info.attempt, 1);
    if (letter.info.stage == "validate") {
      EXPECT_EQ(letter.info.rule, kRule);
      EXPECT_EQ(letter.info.table, "orders");
      ++by_rule;
      rejected_by_rule.insert({letter.info.partition.value, letter.info.offset.value});
    } else {
      EXPECT_EQ(letter.info.stage, "decode");
      EXPECT_TRUE(malformed_.contains({letter.info.partition.value, letter.info.offset.value}));
      ++decode;
    }
  }
  EXPECT_EQ(decode, static_cast<int64_t>(malformed_.size()));
  auto records = static_cast<int64_t>(workload_->records().size());
  EXPECT_GT(by_rule, records * 3 / 100) << "about 5% are rejected by the rule";
  EXPECT_LT(by_rule, records * 8 / 100);

  // Stats count what the topic holds.
  std::string stats = sluice({"dlq", "stats", "--topic", dlq_, "--json"});
  EXPECT_NE(stats.find("\"total\":" + std::to_string(letters.size())), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"validate\":" + std::to_string(by_rule)), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"decode\":" + std::to_string(decode)), std::string::npos) << stats;
  EXPECT_NE(stats.find(std::string("\"") + kRule + "\":" + std::to_string(by_rule)), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"" + topic_ + "\":" + std::to_string(letters.size())), std::string::npos) << stats;
  std::string table = sluice({"dlq", "stats", "--topic", dlq_});
  EXPECT_NE(table.find("by reason"), std::string::npos) << table;
  EXPECT_NE(table.find(kRule), std::string::npos) << table;

  // The rule is lifted (the replay runs without it).
  std::string replay = sluice({"replay", "--from", dlq_, "--until-caught-up"});
  EXPECT_EQ(rows_differing(), 0) << "the table equals applying every valid event in source order\n" << replay;
  EXPECT_GT(summary_count(replay, "applied"), 0) << replay;
  EXPECT_EQ(summary_count(replay, "parked"), decode) << replay;
  EXPECT_GT(summary_count(replay, "skipped as stale"), 0) << "rejects of rows later deleted are stale\n" << replay;
  EXPECT_EQ(summary_count(replay, "filtered out"), 0) << replay;

  // Parked: exactly the malformed records, attempt 2, original coordinates.
  auto parked = read_topic(dlq_ + ".parking");
  std::set<RecordAt> parked_originals;
  for (const auto& letter : parked) {
    EXPECT_EQ(letter.info.topic, topic_);
    EXPECT_EQ(letter.info.stage, "decode");
    EXPECT_EQ(letter.info.attempt, 2);
    EXPECT_NE(letter.headers.count("workload.invalid"), 0u) << "original headers are kept";
    parked_originals.insert({letter.info.partition.value, letter.info.offset.value});
  }
  EXPECT_EQ(parked.size(), malformed_.size());
  EXPECT_EQ(parked_originals, malformed_);

  // A second replay (same group) has nothing to do and changes nothing.
  std::string digest = table_digest();
  std::string again = sluice({"replay", "--from", dlq_, "--until-caught-up"});
  EXPECT_NE(again.find("0 record(s) read"), std::string::npos) << again;
  EXPECT_EQ(table_digest(), digest);
  EXPECT_EQ(read_topic(dlq_ + ".parking").size(), malformed_.size()) << "nothing parked again";

  // Even from the beginning (another group) a replay changes nothing: every
  // record is stale or re-applied idempotently. Only rule rejects are selected.
  std::string fresh = sluice({"replay", "--from", dlq_, "--until-caught-up", "--stage", "validate", "--set",
                              "replay.group.id=" + name_ + "_second"});
  EXPECT_EQ(table_digest(), digest) << fresh;
  EXPECT_EQ(summary_count(fresh, "filtered out"), decode) << fresh;
  EXPECT_EQ(summary_count(fresh, "parked"), 0) << fresh;
  EXPECT_GT(summary_count(fresh, "skipped as stale"), 0) << fresh;
  EXPECT_EQ(rows_differing(), 0);
}

TEST_F(ReplayTest, FiltersSelectByReasonAndTopicAndTime) {
  sluice({"run", "--until-caught-up", "--set", std::string("validate.orders.customer_id=") + kRule});
  auto letters = read_topic(dlq_);
  // Records before the epoch's first second: none.
  std::string none = sluice({"replay", "--from", dlq_, "--until-caught-up", "--until", "1970-01-01T00:00:01Z"});
  EXPECT_EQ(summary_count(none, "filtered out"), static_cast<int64_t>(letters.size())) << none;
  EXPECT_EQ(summary_count(none, "applied"), 0) << none;
  // Another source topic: nothing selected either.
  std::string other = sluice({"replay", "--from", dlq_, "--until-caught-up", "--source-topic", "elsewhere", "--set",
                              "replay.group.id=" + name_ + "_other"});
  EXPECT_EQ(summary_count(other, "filtered out"), static_cast<int64_t>(letters.size())) << other;
  // By reason: only the rule's rejects, which now apply.
  std::string rule = sluice({"replay", "--from", dlq_, "--until-caught-up", "--reason", "max:", "--set",
                             "replay.group.id=" + name_ + "_rule"});
  EXPECT_EQ(summary_count(rule, "parked"), 0) << rule;
  EXPECT_EQ(summary_count(rule, "filtered out"), static_cast<int64_t>(malformed_.size())) << rule;
  EXPECT_EQ(rows_differing(), 0) << rule;
}

TEST_F(ReplayTest, BadCommandLinesAndMissingTopicsAreClearErrors) {
  std::string missing = sluice({"replay", "--from", name_ + "_nope", "--until-caught-up"}, 1);
  EXPECT_NE(missing.find("does not exist"), std::string::npos) << missing;
  std::string bad_time = sluice({"replay", "--from", dlq_, "--since", "yesterday"}, 2);
  EXPECT_NE(bad_time.find("--since 'yesterday' is not a time"), std::string::npos) << bad_time;
  std::string loop = sluice({"replay", "--from", dlq_, "--set", "replay.parking.topic=" + dlq_}, 2);
  EXPECT_NE(loop.find("replay.parking.topic"), std::string::npos) << loop;
  std::string stats = sluice({"dlq", "stats", "--topic", name_ + "_nope"}, 1);
  EXPECT_NE(stats.find("does not exist"), std::string::npos) << stats;
}

}  // namespace
}  // namespace sluice::testing
