#include "pipeline/pipeline_metrics.h"

namespace sluice {
namespace {

constexpr std::string_view kRejected = "sluice_events_rejected_total";
constexpr std::string_view kRejectedHelp = "records rejected and sent to the dead-letter topic, by stage";
constexpr std::string_view kLag = "sluice_consumer_lag";

metrics::Labels partition_labels(const TopicPartition& tp) {
  return {{"topic", tp.topic}, {"partition", std::to_string(tp.partition.value)}};
}

}  // namespace

PipelineMetrics::PipelineMetrics(metrics::Registry& registry)
    : registry_(registry),
      rejected_decode_(registry.counter(kRejected, kRejectedHelp, {{"stage", "decode"}})),
      rejected_validate_(registry.counter(kRejected, kRejectedHelp, {{"stage", "validate"}})),
      rejected_sink_(registry.counter(kRejected, kRejectedHelp, {{"stage", "sink"}})),
      skipped_(registry.counter("sluice_events_skipped_total",
                                "events counted but not applied (messages, tombstones of unknown tables, stale events, "
                                "deletes disabled)")),
      skipped_stale_(registry.counter("sluice_events_skipped_stale_total",
                                      "events skipped because the row already holds a newer version (part of skipped)")),
      applied_(registry.counter("sluice_events_applied_total", "events whose effect reached a table (committed)")),
      batches_(registry.counter("sluice_batches_committed_total", "batches committed (rows and offsets together)")),
      dead_lettered_(registry.counter("sluice_dead_letter_records_total",
                                      "records produced to the dead-letter topic and acknowledged")),
      dead_letter_failures_(registry.counter("sluice_dead_letter_produce_failures_total",
                                             "failed attempts to produce or flush dead-letter records (retried)")),
      batch_size_(registry.histogram("sluice_batch_size", "events per committed batch (entries and rejects)",
                                     metrics::Histogram::batch_size_buckets())),
      apply_duration_(registry.histogram("sluice_batch_apply_duration_seconds",
                                         "time from a batch's hand-off to its COMMIT, retries included",
                                         metrics::Histogram::seconds_buckets())),
      end_to_end_latency_(registry.histogram("sluice_end_to_end_latency_seconds",
                                             "commit time minus the Kafka record timestamp, per applied event",
                                             metrics::Histogram::seconds_buckets())),
      last_commit_(registry.gauge("sluice_last_commit_timestamp_seconds",
                                  "Unix time of the last successful commit (any table)")),
      running_(registry.gauge(kRunning, "1 while the pipeline consumes (partitions assigned or awaited)")),
      postgres_up_(registry.gauge(kPostgresUp, kPostgresUpHelp)),
      assigned_(registry.gauge(kAssignedPartitions, "partitions assigned to this member")) {}

void PipelineMetrics::consumed(std::string_view topic) {
  auto it = consumed_by_topic_.find(topic);
  if (it == consumed_by_topic_.end()) {
    metrics::Counter& counter =
        registry_.counter("sluice_events_consumed_total", "records read from Kafka", {{"topic", std::string(topic)}});
    it = consumed_by_topic_.emplace(std::string(topic), &counter).first;
  }
  it->second->add();
}

void PipelineMetrics::rejected(Stage stage, uint64_t n) {
  switch (stage) {
    case Stage::kDecode:
      rejected_decode_.add(n);
      break;
    case Stage::kValidate:
      rejected_validate_.add(n);
      break;
    case Stage::kSink:
      rejected_sink_.add(n);
      break;
  }
}

void PipelineMetrics::skipped(uint64_t n) { skipped_.add(n); }

void PipelineMetrics::publish_lag(const std::vector<TopicPartition>& assignment,
                                  const std::map<TopicPartition, int64_t>& lag) {
  std::set<TopicPartition> assigned(assignment.begin(), assignment.end());
  for (auto it = lag_series_.begin(); it != lag_series_.end();) {
    if (assigned.contains(*it)) {
      ++it;
      continue;
    }
    registry_.remove(kLag, partition_labels(*it));
    it = lag_series_.erase(it);
  }
  for (const auto& [tp, value] : lag) {
    registry_
        .gauge(kLag, "records between the committed offset and the end of the partition", partition_labels(tp))
        .set(static_cast<double>(value));
    lag_series_.insert(tp);
  }
  assigned_.set(static_cast<double>(assigned.size()));
}

void PipelineMetrics::running(bool running) { running_.set(running ? 1 : 0); }

PipelineMetrics::TableInstruments& PipelineMetrics::table(const TableName& name) {
  auto it = tables_.find(name);
  if (it == tables_.end()) {
    TableInstruments instruments;
    instruments.last_commit =
        &registry_.gauge("sluice_table_last_commit_timestamp_seconds",
                         "Unix time of the last commit that held events of the table (freshness)",
                         {{"table", name.display()}});
    it = tables_.emplace(name, std::move(instruments)).first;
  }
  return it->second;
}

void PipelineMetrics::committed(const Batch& batch, const ApplyStats& stats,
                                std::chrono::steady_clock::duration apply_time, int64_t commit_ms) {
  std::lock_guard lock(apply_mutex_);
  applied_.add(stats.applied);
  skipped_.add(stats.skipped);
  skipped_stale_.add(stats.stale);
  rejected_sink_.add(stats.rejects.size());
  batches_.add();
  batch_size_.observe(static_cast<double>(batch.entries.size() + batch.rejects.size()));
  apply_duration_.observe(std::chrono::duration<double>(apply_time).count());
  double commit_seconds = static_cast<double>(commit_ms) / 1000.0;
  last_commit_.set(commit_seconds);
  const TableName* last_table = nullptr;
  TableInstruments* instruments = nullptr;
  for (const BatchEntry& entry : batch.entries) {
    // Entries of one table tend to come together: skip the map look-up then.
    if (last_table == nullptr || *last_table != entry.event.table) {
      last_table = &entry.event.table;
      instruments = &table(entry.event.table);
      instruments->last_commit->set(commit_seconds);
    }
    auto op = instruments->events.find(entry.event.op);
    if (op == instruments->events.end()) {
      metrics::Counter& counter = registry_.counter(
          "sluice_table_events_total", "events of committed batches, by target table and op (before the sink's skips)",
          {{"table", entry.event.table.display()}, {"op", std::string(to_string(entry.event.op))}});
      op = instruments->events.emplace(entry.event.op, &counter).first;
    }
    op->second->add();
    if (entry.raw.timestamp_ms > 0) {
      end_to_end_latency_.observe(static_cast<double>(commit_ms - entry.raw.timestamp_ms) / 1000.0);
    }
  }
}

void PipelineMetrics::dead_lettered(uint64_t n) { dead_lettered_.add(n); }

void PipelineMetrics::dead_letter_failed() { dead_letter_failures_.add(); }

void PipelineMetrics::transient_error(std::string_view where, const Error& error) {
  std::lock_guard lock(apply_mutex_);
  std::pair<std::string, std::string> key{std::string(where), error.reason};
  auto it = transient_.find(key);
  if (it == transient_.end()) {
    metrics::Counter& counter = registry_.counter("sluice_transient_errors_total",
                                                  "transient failures, each followed by a retry after a backoff",
                                                  {{"where", key.first}, {"reason", key.second}});
    it = transient_.emplace(key, &counter).first;
  }
  it->second->add();
  registry_.counter("sluice_retries_total", "batch retries after a transient failure", {{"where", key.first}}).add();
}

void PipelineMetrics::postgres_up(bool up) { postgres_up_.set(up ? 1 : 0); }

}  // namespace sluice
