// PipelineMetrics: the pipeline's instruments in a metrics::Registry, looked up
// once and cached so that per-record updates are atomic adds without locks or
// allocation. Each method documents the thread that calls it: the Kafka-side
// methods keep caches that only that thread touches; the apply side's caches
// are shared by the apply lanes under a mutex; every instrument itself is safe
// to read from any thread (the scrape).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/registry.h"
#include "sluice/batch.h"
#include "sluice/error.h"
#include "sluice/reject.h"
#include "sluice/sink.h"
#include "sluice/types.h"

namespace sluice {

class PipelineMetrics {
 public:
  explicit PipelineMetrics(metrics::Registry& registry);

  // Kafka thread.
  void consumed(std::string_view topic);
  void rejected(Stage stage, uint64_t n = 1);
  void skipped(uint64_t n = 1);
  // Lag of assigned partitions (those whose end offset is known yet); series of
  // partitions no longer in `assignment` are dropped.
  void publish_lag(const std::vector<TopicPartition>& assignment, const std::map<TopicPartition, int64_t>& lag);
  void running(bool running);

  // Apply threads (any lane).
  // A batch committed at wall-clock `commit_ms`, after `apply_time` (dead-letter
  // flush, apply and COMMIT, retries included).
  void committed(const Batch& batch, const ApplyStats& stats, std::chrono::steady_clock::duration apply_time,
                 int64_t commit_ms);
  void dead_lettered(uint64_t n);
  // Producing or flushing dead-letter records failed (the batch is retried).
  void dead_letter_failed();
  // A transient failure at `where` ("postgres", "dead_letter"), followed by a retry.
  void transient_error(std::string_view where, const Error& error);
  void postgres_up(bool up);

  // Names of the gauges the readiness check reads.
  static constexpr std::string_view kRunning = "sluice_pipeline_running";
  static constexpr std::string_view kPostgresUp = "sluice_postgres_up";
  static constexpr std::string_view kPostgresUpHelp = "1 when the last PostgreSQL connect or apply succeeded";
  static constexpr std::string_view kAssignedPartitions = "sluice_assigned_partitions";

 private:
  struct TableInstruments {
    metrics::Gauge* last_commit = nullptr;
    std::map<Op, metrics::Counter*> events;  // by op, created on first use
  };
  TableInstruments& table(const TableName& name);

  metrics::Registry& registry_;
  // Kafka thread.
  std::map<std::string, metrics::Counter*, std::less<>> consumed_by_topic_;
  std::set<TopicPartition> lag_series_;
  // Apply threads, under apply_mutex_.
  std::mutex apply_mutex_;
  std::map<TableName, TableInstruments> tables_;
  std::map<std::pair<std::string, std::string>, metrics::Counter*> transient_;

  metrics::Counter& rejected_decode_;
  metrics::Counter& rejected_validate_;
  metrics::Counter& rejected_sink_;
  metrics::Counter& skipped_;
  metrics::Counter& skipped_stale_;
  metrics::Counter& applied_;
  metrics::Counter& batches_;
  metrics::Counter& dead_lettered_;
  metrics::Counter& dead_letter_failures_;
  metrics::Histogram& batch_size_;
  metrics::Histogram& apply_duration_;
  metrics::Histogram& end_to_end_latency_;
  metrics::Gauge& last_commit_;
  metrics::Gauge& running_;
  metrics::Gauge& postgres_up_;
  metrics::Gauge& assigned_;
};

}  // namespace sluice
