#include "sluice/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace sluice {
namespace {

constexpr const char* kMinimal =
    "topics = a, b\n"
    "connection.url = postgresql://localhost/db\n"
    "kafka.bootstrap.servers = 127.0.0.1:9092\n"
    "errors.deadletterqueue.topic.name = dlq\n";

TEST(Config, MinimalFileGetsDefaults) {
  auto config = parse_config_text(kMinimal);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->kafka.topics, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(config->kafka.group_id(), "sluice");
  EXPECT_EQ(config->sink.insert_mode, InsertMode::kUpsert);
  EXPECT_EQ(config->sink.delete_mode, DeleteMode::kHard);
  EXPECT_TRUE(config->sink.delete_enabled);
  EXPECT_EQ(config->sink.table_name_format, "${topic}");
  EXPECT_EQ(config->sink.offsets_table, "sluice_offsets");
  EXPECT_EQ(config->pipeline.batch_size, 10000u);
  EXPECT_EQ(config->observability.metrics_listen, "127.0.0.1:9464");
}

TEST(Config, SectionsPrefixKeysAndCommentsAreIgnored) {
  auto config = parse_config_text(std::string(kMinimal) +
                                  "# a comment\n! another\n[kafka]\ngroup.id = replicas\n[batch]\nsize = 500\n");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->kafka.group_id(), "replicas");
  EXPECT_EQ(config->pipeline.batch_size, 500u);
}

TEST(Config, UnknownKeyIsAnErrorNamingTheKey) {
  auto config = parse_config_text(std::string(kMinimal) + "insert.mod = upsert\n");
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("insert.mod: unknown key"), std::string::npos) << config.error().message;
}

TEST(Config, KafkaKeysPassThrough) {
  auto config = parse_config_text(std::string(kMinimal) + "kafka.some.future.setting = 1\n");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->kafka.properties.at("some.future.setting"), "1");
}

TEST(Config, BadValuesAreReportedTogether) {
  auto config = parse_config_text(std::string(kMinimal) + "insert.mode = merge\nbatch.size = lots\n");
  ASSERT_FALSE(config);
  const std::string& message = config.error().message;
  EXPECT_NE(message.find("insert.mode: 'merge' is not one of insert, upsert, update"), std::string::npos) << message;
  EXPECT_NE(message.find("batch.size: 'lots' is not an integer"), std::string::npos) << message;
}

TEST(Config, NanosHandlingRejectsByDefault) {
  auto config = parse_config_text(kMinimal);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->sink.nanos_handling, NanosHandling::kReject);
  auto set = parse_config_text(std::string(kMinimal) + "time.nanos.handling.mode = truncate\n");
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->sink.nanos_handling, NanosHandling::kTruncate);
  auto bad = parse_config_text(std::string(kMinimal) + "time.nanos.handling.mode = round\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("time.nanos.handling.mode: 'round' is not one of reject, truncate"),
            std::string::npos)
      << bad.error().message;
}

TEST(Config, HistoryAndChangelogKeys) {
  auto config = parse_config_text(std::string(kMinimal) +
                                  "insert.mode = history\n"
                                  "changelog.table.name.format = audit.${source.table}_log\n");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->sink.insert_mode, InsertMode::kHistory);
  EXPECT_EQ(config->sink.changelog_table_name_format, "audit.${source.table}_log");
  EXPECT_TRUE(config->sink.history_table_name_format.empty());

  config = parse_config_text(std::string(kMinimal) + "insert.mode = changelog\nprimary.key.mode = kafka\n"
                                                     "history.table.name.format = ${topic}_history\n");
  ASSERT_FALSE(config);
  std::string message = config.error().message;
  EXPECT_NE(message.find("history.table.name.format: history tables keep versions per key and need "
                         "primary.key.mode = record_key or record_value"),
            std::string::npos)
      << message;

  config = parse_config_text(std::string(kMinimal) +
                             "insert.mode = history\nprimary.key.mode = none\n"
                             "changelog.table.name.format = ${topic}_log_${bad}\n"
                             "history.table.name.format = ${topic}\n");
  ASSERT_FALSE(config);
  message = config.error().message;
  EXPECT_NE(message.find("insert.mode: history keeps versions per key"), std::string::npos) << message;
  EXPECT_NE(message.find("changelog.table.name.format: unknown placeholder ${bad}"), std::string::npos) << message;
  EXPECT_NE(message.find("history.table.name.format: same as table.name.format"), std::string::npos) << message;
}

TEST(Config, GuardAndReplayKeysHaveDefaultsAndChecks) {
  auto config = parse_config_text(kMinimal);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_TRUE(config->sink.stale_guard);
  EXPECT_EQ(config->sink.stale_guard_column, "__sluice_position");
  EXPECT_EQ(config->sink.stale_guard_table, "sluice_deletes");
  EXPECT_TRUE(config->replay.parking_topic.empty());
  auto set = parse_config_text(std::string(kMinimal) + "stale.guard.enabled = false\nreplay.parking.topic = parked\n"
                                                      "replay.group.id = fix-1\n");
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_FALSE(set->sink.stale_guard);
  EXPECT_EQ(set->replay.parking_topic, "parked");
  EXPECT_EQ(set->replay.group_id, "fix-1");
  auto bad = parse_config_text(std::string(kMinimal) + "stale.guard.enabled = maybe\nstale.guard.column =\n"
                                                      "decoder.flattened.prefix =\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("stale.guard.enabled: 'maybe' is not true or false"), std::string::npos)
      << bad.error().message;
  EXPECT_NE(bad.error().message.find("stale.guard.column: must not be empty"), std::string::npos);
  EXPECT_NE(bad.error().message.find("decoder.flattened.prefix: must not be empty"), std::string::npos);
}

// PostgreSQL would truncate a longer name to 63 bytes: sluice would then write
// to a table or column other than the one configured.
TEST(Config, IdentifiersPostgresCannotHoldStopStartUpNamingTheKey) {
  const std::string longest(63, 'x');
  const std::string too_long(64, 'x');
  auto fits = parse_config_text(std::string(kMinimal) + "offsets.table = " + longest + "\nstale.guard.column = " +
                                longest + "\nstale.guard.table = " + longest + "\nprimary.key.fields = id, " +
                                longest + "\ntable.name.format = " + longest + "." + longest + "\nvalidate." +
                                longest + "." + longest + " = not_null\n");
  ASSERT_TRUE(fits) << fits.error().message;
  EXPECT_EQ(fits->sink.offsets_table, longest);

  auto bad = parse_config_text(std::string(kMinimal) + "offsets.table = " + too_long + "\nstale.guard.column = " +
                               too_long + "\nstale.guard.table = " + too_long + "\nprimary.key.fields = id, " +
                               too_long + "\ntable.name.format = replica." + too_long + "\nvalidate.orders." +
                               too_long + " = not_null\nmask." + too_long + ".email = redact\n");
  ASSERT_FALSE(bad);
  const std::string& message = bad.error().message;
  const std::string problem = "\"" + too_long +
                              "\" is 64 bytes long; PostgreSQL keeps at most 63 bytes of an identifier (NAMEDATALEN - 1) "
                              "and would truncate it";
  for (const std::string& line :
       {"offsets.table: " + problem, "stale.guard.column: " + problem, "stale.guard.table: " + problem,
        "primary.key.fields: " + problem, "table.name.format: table " + problem,
        "validate.orders." + too_long + ": column " + problem, "mask." + too_long + ".email: table " + problem}) {
    EXPECT_NE(message.find(line), std::string::npos) << line << "\nin\n" << message;
  }
  // A format with placeholders is checked per event by the sink.
  EXPECT_TRUE(parse_config_text(std::string(kMinimal) + "table.name.format = ${source.table}_" + too_long + "\n"));
}

TEST(Config, RequiredKeysAreNamed) {
  auto config = parse_config_text("");
  ASSERT_FALSE(config);
  const std::string& message = config.error().message;
  EXPECT_NE(message.find("topics: required"), std::string::npos);
  EXPECT_NE(message.find("connection.url: required"), std::string::npos);
  EXPECT_NE(message.find("kafka.bootstrap.servers: required"), std::string::npos);
  EXPECT_NE(message.find("errors.deadletterqueue.topic.name: required"), std::string::npos);
}

TEST(Config, ToleranceNoneNeedsNoDeadLetterTopic) {
  auto config = parse_config_text(
      "topics = a\nconnection.url = x\nkafka.bootstrap.servers = b\nerrors.tolerance = none\n");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->errors.tolerance, ErrorsTolerance::kNone);
}

TEST(Config, OverridesBeatTheFile) {
  auto config = parse_config_text(kMinimal, {{"batch.size", "7"}});
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->pipeline.batch_size, 7u);
}

TEST(Config, EnvironmentBeatsFileAndLosesToOverrides) {
  auto path = std::filesystem::temp_directory_path() / "sluice_config_env_test.properties";
  std::ofstream(path) << kMinimal << "batch.size = 1\ninsert.mode = insert\n";
  ::setenv("SLUICE_BATCH_SIZE", "2", 1);
  ::setenv("SLUICE_INSERT_MODE", "update", 1);
  ::setenv("SLUICE_KAFKA_GROUP_ID", "from-env", 1);
  auto config = load_config({path.string(), {{"batch.size", "3"}}, true});
  ::unsetenv("SLUICE_BATCH_SIZE");
  ::unsetenv("SLUICE_INSERT_MODE");
  ::unsetenv("SLUICE_KAFKA_GROUP_ID");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->pipeline.batch_size, 3u);
  EXPECT_EQ(config->sink.insert_mode, InsertMode::kUpdate);
  EXPECT_EQ(config->kafka.group_id(), "from-env");
}

TEST(Config, SecretsComeFromFilesAndAreMasked) {
  auto path = std::filesystem::temp_directory_path() / "sluice_config_secret_test";
  std::ofstream(path) << "s3cr3t-pw\n";
  auto config = parse_config_text(std::string(kMinimal) + "connection.password.file = " + path.string() +
                                  "\nkafka.sasl.password = kafka-pw\n");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->connection.password, "s3cr3t-pw");
  EXPECT_EQ(config->kafka.properties.at("sasl.password"), "kafka-pw");
  for (const auto& [key, value] : config->effective) {
    EXPECT_EQ(value.find("s3cr3t"), std::string::npos) << key;
    EXPECT_EQ(value.find("kafka-pw"), std::string::npos) << key;
  }
}

TEST(Config, ValidateAndMaskSettingsSplitTableAndColumn) {
  auto config = parse_config_text(std::string(kMinimal) +
                                  "validate.public.orders.quantity = min:0, max:100\n"
                                  "mask.customers.email = redact\n");
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->validate_rules.size(), 1u);
  EXPECT_EQ(config->validate_rules[0].table, "public.orders");
  EXPECT_EQ(config->validate_rules[0].column, "quantity");
  EXPECT_EQ(config->validate_rules[0].value, "min:0, max:100");
  ASSERT_EQ(config->masks.size(), 1u);
  EXPECT_EQ(config->masks[0].table, "customers");
}

TEST(Config, HashMaskNeedsAKey) {
  auto config = parse_config_text(std::string(kMinimal) + "mask.customers.email = hash\n");
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("mask.key: required"), std::string::npos);
}

TEST(Config, MaskKeyFromAFileIsNeverShown) {
  std::string path = (std::filesystem::temp_directory_path() / "sluice_mask_key_test").string();
  {
    std::ofstream out(path);
    out << "hmac-key-from-file\n";
  }
  auto config = parse_config_text(std::string(kMinimal) + "mask.customers.email = hash\nmask.key.file = " + path +
                                  "\nerrors.deadletterqueue.mask = true\n");
  std::filesystem::remove(path);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->mask_key, "hmac-key-from-file");
  EXPECT_TRUE(config->errors.dlq_mask);
  for (const auto& [key, value] : config->effective) EXPECT_EQ(value.find("hmac-key"), std::string::npos) << key;
}

TEST(Config, DeadLetterMaskingIsOffByDefault) {
  auto config = parse_config_text(kMinimal);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_FALSE(config->errors.dlq_mask);
  auto bad = parse_config_text(std::string(kMinimal) + "errors.deadletterqueue.mask = yes\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("errors.deadletterqueue.mask: 'yes' is not true or false"), std::string::npos);
}

TEST(Config, MalformedLineIsReportedWithItsNumber) {
  auto config = parse_config_text(std::string(kMinimal) + "this line has no equals sign\n");
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("line 5"), std::string::npos) << config.error().message;
}

}  // namespace
}  // namespace sluice
