// Pipeline: decode -> route -> validate -> batch on the Kafka side, and
// dead-letter flush -> apply with offsets -> group commit on the PostgreSQL
// side, on separate threads so decoding the next batch overlaps applying the
// current one. Each closed batch is split by partition among the apply lanes
// (PipelineParts::lanes), which apply their parts concurrently. Keeps the
// order of effects of shared/DESIGN.md for every batch: (1) rejects durable
// in the dead-letter topic, (2) rows and offsets in one transaction, (3)
// offsets to the consumer group.
// run() is called once, on the thread that owns the Source; request_stop() may
// be called from any thread (and from a signal-handling thread).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <thread>
#include <vector>

#include "core/log_rate_limiter.h"
#include "metrics/registry.h"
#include "pipeline/pipeline_metrics.h"
#include "route/router.h"
#include "sluice/config.h"
#include "sluice/dead_letter_sink.h"
#include "sluice/sink.h"
#include "sluice/source.h"
#include "sluice/validator.h"
#include "validate/masker.h"

namespace sluice {

// Counters for metrics and the end-of-run summary. Updated by the pipeline's
// threads, read from any thread.
struct PipelineCounters {
  std::atomic<uint64_t> consumed{0};
  std::atomic<uint64_t> applied{0};
  std::atomic<uint64_t> skipped{0};
  std::atomic<uint64_t> skipped_stale{0};  // part of skipped: older than the row (stale-event guard)
  std::atomic<uint64_t> filtered{0};       // passed over by PipelineParts::prepare (replay filters, duplicates)
  std::atomic<uint64_t> rejected_decode{0};
  std::atomic<uint64_t> rejected_validate{0};
  std::atomic<uint64_t> rejected_sink{0};
  std::atomic<uint64_t> dead_lettered{0};
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> transient_errors{0};
  std::atomic<int64_t> last_commit_ms{0};
};

using DecodeFunction = std::function<Result<ChangeEvent>(const RawRecord&)>;

// What one apply thread writes to: its own sink (its own PostgreSQL
// connection) and its own dead-letter sink, so that a flush acknowledges
// exactly the rejects of that thread's batches.
struct ApplyLane {
  Sink* sink = nullptr;                    // required
  DeadLetterSink* dead_letters = nullptr;  // required unless errors.tolerance = none
};

struct PipelineParts {
  // At least one. Each partition is applied by one lane, always the same, so
  // partitions are applied in order and lanes work in parallel on disjoint
  // partitions, each committing its partitions' rows and offsets together.
  std::vector<ApplyLane> lanes;
  DecodeFunction decode;                   // required
  std::vector<const Validator*> validators;
  // Applied after the validators, before the batch; may reject (stage validate).
  const validate::Masker* masker = nullptr;
  // Optional first stage (replay): turns a consumed record into the record to
  // process -- same topic, partition and offset, so offsets stay those of the
  // consumed topic -- or nullopt to pass over it (it still counts as read).
  // An error rejects the consumed record (stage decode).
  std::function<Result<std::optional<RawRecord>>(const RawRecord&)> prepare;
  // Where the pipeline's metrics go; the pipeline keeps a private registry when null.
  metrics::Registry* metrics = nullptr;
};

class Pipeline final : public PartitionListener {
 public:
  Pipeline(const Config& config, Router router, PipelineParts parts);
  ~Pipeline() override;

  // The source this pipeline drives; set before run(). The source must have
  // been created with this pipeline as its PartitionListener.
  void attach(Source& source) { source_ = &source; }

  // Runs until request_stop() (then finishes and commits the current batch),
  // until a fatal error, or with `until_caught_up` until every assigned
  // partition is applied and committed up to its end offset.
  // Returns the fatal error that stopped it, if any.
  Status run(bool until_caught_up);
  void request_stop();

  const PipelineCounters& counters() const { return counters_; }

  // PartitionListener, called from inside Source::poll on the run() thread.
  Result<std::map<TopicPartition, Offset>> on_assigned(const std::vector<TopicPartition>& partitions) override;
  void on_revoked(const std::vector<TopicPartition>& partitions, bool lost) override;

 private:
  // A batch being filled on the Kafka side.
  struct OpenBatch {
    Batch batch;
    std::map<TopicPartition, Offset, std::less<>> next;  // next offset per partition
    size_t bytes = 0;
    std::chrono::steady_clock::time_point opened;
    bool empty() const { return next.empty(); }
  };

  void process(RawRecord&& consumed);
  // Records `next` as the open batch's next offset of the record's partition.
  void set_next(const RawRecord& record, Offset next);
  void reject(const RawRecord& record, Reject reject);
  Batch close_open_batch();
  // Hands `batch` to the apply lanes, split by partition, waiting for each
  // lane's room. False when stopping hard (parts handed off before stay).
  bool hand_off(Batch batch);
  // While the apply side is behind: until it takes the queued batch or frees
  // room in flight, at most 100 ms (the caller then serves the group again).
  void wait_for_room();
  void wait_until_applied();
  // --until-caught-up: every assigned partition, then every other partition
  // of the subscription, is drained and its offsets stored.
  bool caught_up();
  bool group_caught_up();
  void group_check_failed(const std::string& message);
  // Whether assigned partition `tp` is drained: its end reached since its
  // assignment and everything before it stored, or the source at the end past
  // the stored offset (no record to apply from where it started, or a
  // transaction marker after the last record), then where. The caller knows
  // that no record before that end is read but unbatched.
  struct Drained {
    bool drained = false;
    std::optional<Offset> past_stored;
  };
  Drained drained(const TopicPartition& tp, const Watermarks& watermark);
  // Sets in `next` (the next offsets of the batch about to be handed off, or
  // of a batch of offsets alone) where each drained partition stands past the
  // last offset handed to the apply side (a transaction marker follows its
  // last record, or it started at its end), so that its lane stores that end
  // like any batch's offsets: the lag reads 0, a restart starts there, and
  // other members see the partition done. Kafka thread, between polls, never
  // after a reject of errors.tolerance = none (its batch must stop before the
  // rejected record).
  void add_drained_positions(std::map<TopicPartition, Offset, std::less<>>& next);
  void deliver_commits();
  // Consumer lag per assigned partition from the watermarks the fetches
  // reported; never waits for the broker.
  void publish_lag();

  // One apply thread with its sink and dead-letter sink.
  struct Lane {
    explicit Lane(ApplyLane of_lane) : parts(of_lane) {}
    ApplyLane parts;
    std::optional<Batch> queued;  // handed off, not started (under mutex_)
    bool applying = false;        // its thread holds a batch (under mutex_)
    std::mutex sink_mutex;        // the sink is used by one thread at a time
    size_t dead_letters_queued = 0;  // its thread: produced, not yet flushed
    std::thread thread;
  };

  // The lane that applies `partition`: assigned on first sight, round robin,
  // and kept for the life of the pipeline (Kafka thread).
  size_t lane_of(TopicPartitionRef partition);
  // Whether a lane has a batch waiting / any lane holds work (caller holds mutex_).
  bool any_queued() const;
  bool all_idle() const;

  void apply_loop(Lane& lane);
  // Applies one batch with retries; returns false when the pipeline must stop.
  bool apply_batch(Lane& lane, Batch& batch);
  // Produces the batch's rejects (or `sink_rejects`) to the lane's dead-letter
  // sink; flush_dead_letters() waits until every record it queued is durable.
  Status queue_rejects(Lane& lane, const Batch& batch, std::span<const SinkReject> sink_rejects);
  Status flush_dead_letters(Lane& lane);
  // Once a topic's offsets are stored with its rows, the group's committed
  // offset of a partition of it with none stored is not to be trusted: sluice
  // commits to the group only after storing, so the database has lost that
  // partition's offsets (a restore, or a failover to a standby that was
  // behind). Such partitions start from the beginning (kFromBeginning).
  void start_unstored_from_beginning(const std::vector<TopicPartition>& partitions,
                                     std::map<TopicPartition, Offset>& stored);
  // Removes the entries, rejects and offsets of lost partitions from `batch`
  // (caller holds mutex_).
  void drop_lost(Batch& batch);
  // Waits `delay` unless a hard stop arrives first; false when stopping.
  bool back_off(std::chrono::milliseconds& delay);
  void fail(Error error);

  const Config& config_;
  Router router_;
  PipelineParts parts_;
  Source* source_ = nullptr;
  PipelineCounters counters_;
  std::unique_ptr<metrics::Registry> own_metrics_;  // when parts.metrics is null
  PipelineMetrics metrics_;

  // Kafka thread only.
  OpenBatch open_;
  size_t open_records_ = 0;            // records read into open_ (entries, rejects, skipped)
  std::deque<RawRecord> overflow_;     // read while open_ was full
  std::optional<Error> pending_fatal_;  // errors.tolerance = none hit a reject
  std::map<TopicPartition, Offset> committed_next_;
  // The highest next offset of each partition handed to the apply side since
  // its assignment.
  std::map<TopicPartition, Offset> handed_next_;
  std::chrono::steady_clock::time_point last_group_check_;
  bool waiting_for_group_ = false;  // logged that other members' partitions are behind
  logging::LogRateLimiter group_check_log_{std::chrono::seconds(30), 1};
  // The table each topic's events were routed to; nullopt once a topic has
  // fed more than one table (a topic-routing transform), where a tombstone's
  // table is unknown.
  std::map<std::string, std::optional<TableName>> table_of_topic_;
  std::set<std::string> tombstones_skipped_;         // topics whose unroutable tombstones were skipped
  std::atomic<size_t> in_flight_bytes_{0};  // read, not yet committed
  std::chrono::steady_clock::time_point lag_published_;

  std::map<TopicPartition, size_t, std::less<>> lane_by_partition_;  // Kafka thread

  // Shared between the threads, under mutex_.
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::unique_ptr<Lane>> lanes_;  // fixed after construction
  // Partitions lost (another member may own them) while work of theirs was
  // queued or being applied: that work is dropped, never committed.
  std::set<TopicPartition> lost_;
  std::vector<PartitionOffset> to_commit_;  // applied, not yet committed to the group
  // Committed batches, destroyed by the Kafka thread: it allocated their
  // events, and freeing them is off the apply threads' path.
  std::vector<Batch> spent_;
  std::optional<Error> fatal_;
  bool apply_thread_exit_ = false;
  std::chrono::steady_clock::time_point hard_stop_deadline_ = std::chrono::steady_clock::time_point::max();

  std::atomic<bool> stop_requested_{false};
};

}  // namespace sluice
