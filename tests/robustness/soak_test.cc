// Soak: a constant produce load while `sluice run` applies it, with sluice's
// resident memory (VmRSS) sampled every two seconds. Memory must stay flat once
// sluice is warm, and the table must end exactly as the workload says.
//
// The bound: the first third of the samples is warm-up (librdkafka's fetch
// queue, the records KafkaSource holds during a short pause, the decoded batch
// in flight, the table catalog, the sanitizer's allocator), after which the
// memory sluice holds by design is bounded by buffers that are already sized;
// only how full they are varies from sample to sample. The last third's peak
// may exceed the middle third's peak by at most 5 % plus 32 MB: the most that
// KafkaSource may hold during a stall (KafkaSource::kMaxHeldBytes) is the
// largest buffer that can go from empty to full between two samples. A leak
// grows with the events processed, so over a longer soak it outgrows any fixed
// margin: SLUICE_SOAK_SECONDS (default 150) sets the duration of the load,
// SLUICE_SOAK_RATE (default 400) the events per second.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "connectors/kafka/kafka_topic_reader.h"
#include "debezium_workload.h"
#include "dlq/dead_letter_record.h"
#include "tests/support/test_services.h"
#include "tests/support/workload_checks.h"
#include "workload_producer.h"

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kSampleInterval = 2s;
constexpr int64_t kMaxBytesPerPartition = 2'500'000;  // the dev broker keeps about 5 MB per partition

uint64_t from_environment(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::stoull(value) : fallback;
}

// VmRSS of `pid` in bytes, or 0 when it cannot be read.
int64_t resident_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

TEST(Soak, MemoryStaysFlatUnderAConstantLoadAndTheFinalStateIsExact) {
  const uint64_t seconds = from_environment("SLUICE_SOAK_SECONDS", 150);
  const uint64_t rate = from_environment("SLUICE_SOAK_RATE", 400);
  workload::WorkloadSpec spec;
  spec.events = seconds * rate;
  spec.keys = spec.events / 4;  // updates and deletes of live rows, a table that grows slowly
  spec.with_schema = false;
  spec.seed = 20261202;
  workload::WorkloadSpec probe = spec;
  probe.events = std::min<uint64_t>(spec.events, 2000);
  double bytes_per_event = static_cast<double>(workload::DebeziumWorkload::generate(probe).payload_bytes()) /
                           static_cast<double>(probe.events);
  // Every partition must hold its whole share, in case sluice falls behind.
  spec.partitions = std::max(16, static_cast<int>(bytes_per_event * static_cast<double>(spec.events) /
                                                  kMaxBytesPerPartition) + 1);
  auto workload = workload::DebeziumWorkload::generate(spec);

  const std::string name = unique_name("soak");
  const std::string database_url = postgres().create_database(name);
  const std::string topic = name + "_orders", dlq = name + "_dlq";
  dev_broker().create_topic(topic, spec.partitions);
  dev_broker().create_topic(dlq, 4);
  const std::string config_path = "/tmp/" + name + ".properties";
  {
    std::ofstream config(config_path);
    config << sluice_properties(topic, name, database_url, dlq, "kafka.auto.offset.reset = earliest\n");
  }
  std::cerr << "soak: " << spec.events << " events at " << rate << "/s for " << seconds << " s into " << spec.partitions
            << " partitions (seed " << spec.seed << ")\n";

  // The sanitizer's quarantine of freed memory (256 MB by default) would look
  // like growth for minutes; a small one keeps the warm-up short. It changes
  // nothing in sluice's own memory.
  std::string sanitizer = std::getenv("ASAN_OPTIONS") ? std::getenv("ASAN_OPTIONS") : "";
  ::setenv("ASAN_OPTIONS", (sanitizer + (sanitizer.empty() ? "" : ":") + "quarantine_size_mb=16").c_str(), 1);
  SluiceProcess process({"run", "--config", config_path}, "/tmp/" + name + ".log");
  ::setenv("ASAN_OPTIONS", sanitizer.c_str(), 1);

  std::vector<workload::RecordCoordinates> coordinates;
  std::atomic<bool> producing{true};
  std::thread producer([&] {
    coordinates = workload::produce(workload, {dev_broker().bootstrap_servers(), topic, {}, 0, SIZE_MAX,
                                               static_cast<double>(rate)});
    producing = false;
  });
  // Every write of a row version, by an audit trigger installed once sluice
  // has created the table: a version written twice was applied twice.
  bool audited = false;
  std::vector<int64_t> samples;
  while (producing) {
    std::this_thread::sleep_for(kSampleInterval);
    if (process.wait(0ms).has_value()) break;
    samples.push_back(resident_bytes(process.pid()));
    if (!audited && query_value(database_url, "SELECT to_regclass('orders') IS NOT NULL") == "t") {
      query(database_url,
            "CREATE TABLE audit (id bigint, position bytea);"
            "CREATE FUNCTION audit_write() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN INSERT INTO audit VALUES (NEW.id, NEW.__sluice_position); RETURN NEW; END $$;"
            "CREATE TRIGGER audit AFTER INSERT OR UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION audit_write()");
      audited = true;
    }
  }
  producer.join();
  ASSERT_FALSE(process.wait(0ms).has_value()) << "sluice ended during the load\n" << process.log();

  std::map<int32_t, int64_t> end_offsets;
  std::set<RecordAt> malformed;
  for (size_t i = 0; i < coordinates.size(); ++i) {
    auto [partition, offset] = coordinates[i];
    end_offsets[partition] = std::max(end_offsets[partition], offset + 1);
    if (!workload.records()[i].invalid.empty()) malformed.insert({partition, offset});
  }
  auto stored_offsets = [&] {
    std::map<int32_t, int64_t> stored;
    for (const auto& row : query(database_url, "SELECT partition, next_offset FROM sluice_offsets WHERE topic = '" +
                                                   topic + "'")) {
      stored[std::stoi(*row[0])] = std::stoll(*row[1]);
    }
    return stored;
  };
  auto deadline = std::chrono::steady_clock::now() + 300s;
  while (stored_offsets() != end_offsets) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "sluice did not catch up\n" << process.log();
    ASSERT_FALSE(process.wait(0ms).has_value()) << process.log();
    std::this_thread::sleep_for(500ms);
  }
  process.send_signal(SIGTERM);
  EXPECT_EQ(process.wait(60s), std::optional<int>(0)) << process.log();

  int64_t differing = rows_differing(database_url, "orders", workload);
  EXPECT_EQ(differing, 0) << "exact final state";
  ASSERT_TRUE(audited);
  int64_t applied_twice = std::stoll(
      query_value(database_url,
                  "SELECT count(*) FROM (SELECT id, position FROM audit GROUP BY 1, 2 HAVING count(*) > 1) AS twice")
          .value_or("-1"));
  EXPECT_EQ(applied_twice, 0) << "no event applied twice";
  KafkaConfig kafka;
  kafka.properties = {{"bootstrap.servers", dev_broker().bootstrap_servers()}, {"group.id", name + "_reader"}};
  auto reader = kafka::KafkaTopicReader::open(kafka, dlq, 10s);
  ASSERT_TRUE(reader) << reader.error().message;
  std::set<RecordAt> dead;
  int64_t dead_letters = 0;
  ASSERT_TRUE((*reader)->read_all(
      [&](const RawRecord& record) {
        auto info = dlq::read_dead_letter(record);
        dead.insert({info.partition.value, info.offset.value});
        ++dead_letters;
      },
      30s));
  EXPECT_EQ(dead, malformed) << "exactly the malformed records reach the dead-letter topic";

  ASSERT_GE(samples.size(), 9u) << "too few memory samples; raise SLUICE_SOAK_SECONDS";
  size_t third = samples.size() / 3;
  int64_t warm_peak = *std::max_element(samples.begin() + static_cast<std::ptrdiff_t>(third),
                                        samples.begin() + static_cast<std::ptrdiff_t>(2 * third));
  int64_t last_peak = *std::max_element(samples.begin() + static_cast<std::ptrdiff_t>(2 * third), samples.end());
  int64_t bound = warm_peak + warm_peak / 20 + (32 << 20);
  std::string trace;
  for (int64_t sample : samples) trace += std::to_string(sample >> 20) + " ";
  EXPECT_LE(last_peak, bound) << "resident memory grows under a constant load (MB every 2 s): " << trace;
  int64_t missing = 0;
  for (const RecordAt& at : malformed) missing += dead.contains(at) ? 0 : 1;
  std::cout << "robustness figures: soak " << seconds << " s at " << rate << " events/s: events "
            << workload.records().size() << ", rejects " << malformed.size() << ", lost " << differing + missing
            << ", applied twice " << applied_twice << ", dead-letter duplicates "
            << dead_letters - static_cast<int64_t>(dead.size()) << "; VmRSS peak MB: first third "
            << (*std::max_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(third)) >> 20)
            << ", middle " << (warm_peak >> 20) << ", last " << (last_peak >> 20) << " (bound " << (bound >> 20)
            << ")\n";
  std::remove(config_path.c_str());
}

}  // namespace
}  // namespace sluice::testing
