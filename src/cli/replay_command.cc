#include "cli/replay_command.h"

#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <unordered_map>

#include "cli/exit_codes.h"
#include "cli/run_command.h"
#include "connectors/kafka/kafka_topic_reader.h"
#include "core/logging.h"
#include "dlq/dead_letter_record.h"
#include "dlq/dead_letter_stats.h"
#include "sinks/postgres/postgres_sink.h"

namespace sluice::cli {
namespace {

constexpr std::chrono::seconds kMetadataTimeout{10};

// 64-bit FNV-1a of a record's coordinates: compact keys for de-duplication.
uint64_t coordinates_hash(std::string_view topic, int32_t partition, int64_t offset) {
  uint64_t hash = 14695981039346656037ull;
  auto mix = [&](const void* data, size_t size) {
    for (size_t i = 0; i < size; ++i) {
      hash ^= static_cast<const unsigned char*>(data)[i];
      hash *= 1099511628211ull;
    }
  };
  mix(topic.data(), topic.size());
  mix(&partition, sizeof partition);
  mix(&offset, sizeof offset);
  return hash;
}

// The replay's first stage: selects records by the filters, passes over a
// second copy of a record already replayed (a crash between the dead-letter
// flush and the commit of a live batch writes a reject twice), and turns the
// rest into the original record with its lineage. Called on the pipeline's
// Kafka thread; the counts are read by the progress thread.
class ReplaySelection {
 public:
  explicit ReplaySelection(ReplayFilters filters) : filters_(std::move(filters)) {}

  Result<std::optional<RawRecord>> prepare(const RawRecord& consumed) {
    dlq::DeadLetterRecord info = dlq::read_dead_letter(consumed);
    if (!dlq::matches(filters_, info)) {
      filtered_.fetch_add(1, std::memory_order_relaxed);
      return std::optional<RawRecord>();
    }
    if (info.has_origin) {
      // A duplicate is the same original record at another dead-letter
      // position; reading the same position again (after a rebalance) is not.
      uint64_t original = coordinates_hash(info.topic, info.partition.value, info.offset.value);
      uint64_t here = coordinates_hash(consumed.topic, consumed.partition.value, consumed.offset.value);
      auto [it, inserted] = first_seen_at_.try_emplace(original, here);
      if (!inserted && it->second != here) {
        duplicates_.fetch_add(1, std::memory_order_relaxed);
        return std::optional<RawRecord>();
      }
    }
    // Without lineage it would be routed by the dead-letter topic's name: it
    // is parked with the reason instead.
    auto record = dlq::replay_record(consumed, info);
    if (!record) {
      missing_lineage_.fetch_add(1, std::memory_order_relaxed);
      return record.take_error();
    }
    return std::optional<RawRecord>(std::move(*record));
  }

  uint64_t filtered() const { return filtered_.load(std::memory_order_relaxed); }
  uint64_t duplicates() const { return duplicates_.load(std::memory_order_relaxed); }
  uint64_t missing_lineage() const { return missing_lineage_.load(std::memory_order_relaxed); }

 private:
  ReplayFilters filters_;
  std::unordered_map<uint64_t, uint64_t> first_seen_at_;  // Kafka thread only
  std::atomic<uint64_t> filtered_{0};
  std::atomic<uint64_t> duplicates_{0};
  std::atomic<uint64_t> missing_lineage_{0};
};

// Records of the dead-letter topic not yet replayed by this replay's group.
Result<int64_t> records_to_replay(const Config& config, const std::string& dlq_topic) {
  auto reader = kafka::KafkaTopicReader::open(config.kafka, dlq_topic, kMetadataTimeout);
  if (!reader) return reader.take_error();
  auto sink = pg::PostgresSink::open(config);
  if (!sink) return sink.take_error();
  std::vector<TopicPartition> partitions;
  for (const auto& [tp, marks] : (*reader)->watermarks()) partitions.push_back(tp);
  auto stored = (*sink)->load_offsets(config.kafka.group_id(), partitions);
  if (!stored) return stored.take_error();
  int64_t total = 0;
  for (const auto& [tp, marks] : (*reader)->watermarks()) {
    int64_t from = marks.low.value;
    if (auto it = stored->find(tp); it != stored->end()) from = std::max(from, it->second.value);
    total += std::max<int64_t>(0, marks.high.value - from);
  }
  return total;
}

std::string rate_text(double per_second) {
  char out[32];
  if (per_second >= 1000) {
    std::snprintf(out, sizeof out, "%.1fk/s", per_second / 1000);
  } else {
    std::snprintf(out, sizeof out, "%.0f/s", per_second);
  }
  return out;
}

}  // namespace

int replay_command(const Config& live_config, const std::string& dlq_topic, const ReplayFilters& filters,
                   bool until_caught_up) {
  auto log = logging::get("dlq");
  // The replay reads the dead-letter topic as its own consumer group, from the
  // beginning, and writes what fails again to the parking topic.
  Config config = live_config;
  config.kafka.topics = {dlq_topic};
  config.kafka.topics_regex.clear();
  std::string group =
      config.replay.group_id.empty() ? live_config.kafka.group_id() + ".replay" : config.replay.group_id;
  config.kafka.properties["group.id"] = group;
  config.kafka.properties["auto.offset.reset"] = "earliest";
  std::string parking = config.replay.parking_topic.empty() ? dlq_topic + ".parking" : config.replay.parking_topic;
  if (parking == dlq_topic) {
    std::cerr << "sluice: bad configuration:\nreplay.parking.topic: must differ from the replayed topic " << dlq_topic
              << ", or replay would loop on records that fail again\n";
    return kExitUsage;
  }

  auto total = records_to_replay(config, dlq_topic);
  if (!total) {
    std::cerr << "sluice: replay of " << dlq_topic << ": " << total.error().message << "\n";
    return kExitRuntime;
  }
  log->info("replaying {} record(s) of {} as group {}; records failing again go to {}", *total, dlq_topic, group,
            parking);

  ReplaySelection selection(filters);
  PipelineRunOptions options;
  options.until_caught_up = until_caught_up;
  options.dead_letter_topic = parking;
  options.prepare = [&selection](const RawRecord& record) { return selection.prepare(record); };
  const bool terminal = isatty(STDERR_FILENO) == 1;
  auto started = std::chrono::steady_clock::now();
  options.on_progress = [&](const PipelineCounters& counters, bool final) {
    uint64_t done = counters.consumed.load();
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
    if (!final) {
      if (!terminal) return;
      int64_t left = std::max<int64_t>(0, *total - static_cast<int64_t>(done));
      std::string eta = rate > 0 ? std::to_string(static_cast<int64_t>(static_cast<double>(left) / rate)) + " s" : "?";
      std::fprintf(stderr, "\rreplay: %" PRIu64 " / %" PRId64 " records, %s, ETA %s   ", done, *total,
                   rate_text(rate).c_str(), eta.c_str());
      std::fflush(stderr);
      return;
    }
    if (terminal) std::fprintf(stderr, "\n");
    uint64_t stale = counters.skipped_stale.load();
    std::printf(
        "replay of %s: %" PRIu64 " record(s) read in %.1f s; applied %" PRIu64 ", skipped as stale %" PRIu64
        ", parked %" PRIu64 " (in %s), filtered out %" PRIu64 ", duplicates %" PRIu64 ", other skipped %" PRIu64 "\n",
        dlq_topic.c_str(), done, seconds, counters.applied.load(), stale, counters.dead_lettered.load(),
        parking.c_str(), selection.filtered(), selection.duplicates(), counters.skipped.load() - stale);
    if (selection.missing_lineage() > 0) {
      std::printf("%" PRIu64 " record(s) had no original coordinates and were parked\n", selection.missing_lineage());
    }
    std::fflush(stdout);
  };
  return run_pipeline(config, options);
}

int dlq_stats_command(const Config& config, const std::string& dlq_topic, bool json) {
  auto reader = kafka::KafkaTopicReader::open(config.kafka, dlq_topic, kMetadataTimeout);
  if (!reader) {
    std::cerr << "sluice: dlq stats: " << reader.error().message << "\n";
    return kExitRuntime;
  }
  dlq::DeadLetterStats stats;
  Status status = (*reader)->read_all([&](const RawRecord& record) { stats.add(dlq::read_dead_letter(record)); },
                                      std::chrono::seconds(30));
  if (!status) {
    std::cerr << "sluice: dlq stats: " << status.error().message << "\n";
    return kExitRuntime;
  }
  std::cout << (json ? stats.json(dlq_topic) : stats.text(dlq_topic));
  return kExitOk;
}

}  // namespace sluice::cli
