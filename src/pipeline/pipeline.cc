#include "pipeline/pipeline.h"

#include <algorithm>

#include "core/log_rate_limiter.h"
#include "core/logging.h"

namespace sluice {
namespace {

using Clock = std::chrono::steady_clock;

std::shared_ptr<spdlog::logger> log() {
  static auto logger = logging::get("pipeline");
  return logger;
}

// Retry warnings: a long outage logs a few lines per interval, not one per attempt.
logging::LogRateLimiter& retry_warnings() {
  static logging::LogRateLimiter limiter(std::chrono::seconds(30), 3);
  return limiter;
}

std::string suppressed_note(uint64_t suppressed) {
  return suppressed == 0 ? "" : " (" + std::to_string(suppressed) + " similar warnings suppressed)";
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

size_t record_bytes(const RawRecord& record) {
  return (record.key ? record.key->size() : 0) + (record.value ? record.value->size() : 0);
}

std::string coordinates(const RawRecord& record) {
  return std::string(record.topic) + "[" + std::to_string(record.partition.value) + "]@" +
         std::to_string(record.offset.value);
}

size_t batch_bytes(const Batch& batch) {
  size_t bytes = 0;
  for (const auto& entry : batch.entries) bytes += record_bytes(entry.raw);
  for (const auto& rejected : batch.rejects) bytes += record_bytes(rejected.raw);
  return bytes;
}

// Dead-letter deliveries of `record` including the one about to happen.
int attempt_of(const RawRecord& record) { return record.lineage ? record.lineage->attempt + 1 : 1; }

constexpr std::chrono::milliseconds kDeadLetterFlushTimeout{10000};
// --until-caught-up: how often an idle pipeline looks at the end offsets (from
// the fetch responses, no request), and so how late it can notice the end.
constexpr std::chrono::milliseconds kCaughtUpCheckInterval{20};
// Once its own partitions are drained: how often it asks the broker about the
// rest of the group's partitions, and how long it waits for each answer.
constexpr std::chrono::milliseconds kGroupCheckInterval{250};
constexpr std::chrono::milliseconds kGroupCheckTimeout{1000};
// After a failed attempt to store positions past the last records.
constexpr std::chrono::milliseconds kLagInterval{1000};

// Transient failures that mean PostgreSQL cannot be reached (not, say, a deadlock).
bool postgres_unreachable(const Error& error) {
  return error.reason.starts_with("connection_") || error.reason.starts_with("08") || error.reason.starts_with("57P");
}

}  // namespace

Pipeline::Pipeline(const Config& config, Router router, PipelineParts parts)
    : config_(config),
      router_(std::move(router)),
      parts_(std::move(parts)),
      own_metrics_(parts_.metrics == nullptr ? std::make_unique<metrics::Registry>() : nullptr),
      metrics_(parts_.metrics != nullptr ? *parts_.metrics : *own_metrics_) {
  for (const ApplyLane& lane : parts_.lanes) lanes_.push_back(std::make_unique<Lane>(lane));
}

Pipeline::~Pipeline() {
  {
    std::lock_guard lock(mutex_);
    apply_thread_exit_ = true;
  }
  changed_.notify_all();
  for (auto& lane : lanes_) {
    if (lane->thread.joinable()) lane->thread.join();
  }
}

size_t Pipeline::lane_of(TopicPartitionRef partition) {
  auto it = lane_by_partition_.find(partition);
  if (it == lane_by_partition_.end()) {
    it = lane_by_partition_
             .emplace(TopicPartition{std::string(partition.topic), partition.partition},
                      lane_by_partition_.size() % lanes_.size())
             .first;
  }
  return it->second;
}

bool Pipeline::any_queued() const {
  return std::any_of(lanes_.begin(), lanes_.end(), [](const auto& lane) { return lane->queued.has_value(); });
}

bool Pipeline::all_idle() const {
  return std::none_of(lanes_.begin(), lanes_.end(),
                      [](const auto& lane) { return lane->queued.has_value() || lane->applying; });
}

void Pipeline::request_stop() {
  {
    std::lock_guard lock(mutex_);
    if (!stop_requested_) hard_stop_deadline_ = Clock::now() + config_.pipeline.shutdown_timeout;
    stop_requested_ = true;
  }
  changed_.notify_all();
}

void Pipeline::fail(Error error) {
  {
    std::lock_guard lock(mutex_);
    if (!fatal_) fatal_ = std::move(error);
  }
  changed_.notify_all();
}

Status Pipeline::run(bool until_caught_up) {
  if (lanes_.empty()) return Error::fatal("no_sink", "the pipeline has no apply lane");
  for (auto& lane : lanes_) lane->thread = std::thread([this, &lane = *lane] { apply_loop(lane); });
  Clock::time_point last_check = Clock::now();
  bool drained = false;
  metrics_.running(true);
  metrics_.postgres_up(true);  // run_command connects the sink first; apply() and on_assigned() keep this current
  while (!stop_requested_) {
    bool queue_full;
    std::vector<Batch> spent;
    {
      std::lock_guard lock(mutex_);
      if (fatal_) break;
      queue_full = any_queued();
      spent.swap(spent_);
    }
    spent.clear();
    deliver_commits();

    // Backpressure: while the apply side is behind, keep serving the group
    // (poll) but stop fetching.
    bool behind = queue_full || in_flight_bytes_ > config_.pipeline.max_in_flight_bytes;
    if (behind) {
      source_->pause_all();
    } else {
      source_->resume_all();
    }

    // Records that arrived while the open batch was full go first.
    while (!overflow_.empty() && open_records_ < config_.pipeline.batch_size && !pending_fatal_) {
      process(std::move(overflow_.front()));
      overflow_.pop_front();
    }

    std::chrono::milliseconds wait = until_caught_up ? kCaughtUpCheckInterval : std::chrono::milliseconds(100);
    if (!open_.empty()) {
      auto age = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - open_.opened);
      wait = std::clamp(config_.pipeline.batch_max_wait - age, std::chrono::milliseconds(0), wait);
    }
    size_t room = config_.pipeline.batch_size > open_records_ ? config_.pipeline.batch_size - open_records_ : 0;
    auto records = source_->poll(std::max<size_t>(room, 1), wait);
    if (!records) {
      fail(records.take_error());
      break;
    }
    for (RawRecord& record : *records) {
      counters_.consumed.fetch_add(1, std::memory_order_relaxed);
      metrics_.consumed(record.topic);
      if (open_records_ >= config_.pipeline.batch_size || pending_fatal_ || !overflow_.empty()) {
        overflow_.push_back(std::move(record));
      } else {
        process(std::move(record));
      }
    }

    if (pending_fatal_) {
      // errors.tolerance = none: commit what came before the reject, then stop.
      if (!open_.empty() && hand_off(close_open_batch())) wait_until_applied();
      deliver_commits();
      fail(std::move(*pending_fatal_));
      break;
    }

    bool full = open_records_ >= config_.pipeline.batch_size;
    bool old = !open_.empty() && Clock::now() - open_.opened >= config_.pipeline.batch_max_wait;
    bool nothing_read = open_.empty() && overflow_.empty();
    if (full || old || nothing_read) {
      std::unique_lock lock(mutex_);
      if (!any_queued()) {
        lock.unlock();
        // Only here, between polls: every record read is in the open batch
        // or the overflow. (A rebalance callback closing the batch runs
        // inside a poll, with records on their way.) With nothing read, a
        // drained partition's end goes on a batch of offsets alone.
        add_drained_positions(open_.next);
        if (!open_.empty()) hand_off(close_open_batch());
      }
    }

    if (behind) wait_for_room();
    if (Clock::now() - lag_published_ >= kLagInterval) publish_lag();

    if (until_caught_up && open_.empty() && overflow_.empty() && Clock::now() - last_check >= kCaughtUpCheckInterval) {
      last_check = Clock::now();
      bool idle;
      {
        std::lock_guard lock(mutex_);
        idle = all_idle();
      }
      deliver_commits();
      if (idle && caught_up()) {
        drained = true;
        break;
      }
    }
  }

  metrics_.running(false);
  // Graceful end: finish and commit what was read, within the shutdown bound.
  bool failed;
  {
    std::lock_guard lock(mutex_);
    failed = fatal_.has_value();
    if (!stop_requested_) hard_stop_deadline_ = Clock::now() + config_.pipeline.shutdown_timeout;
  }
  auto summary = [&](std::string_view how) {
    log()->info("{}: consumed {}, applied {}, skipped {}, rejected {} (decode {}, validate {}, sink {}), {} batches", how,
                counters_.consumed.load(), counters_.applied.load(), counters_.skipped.load(),
                counters_.rejected_decode.load() + counters_.rejected_validate.load() + counters_.rejected_sink.load(),
                counters_.rejected_decode.load(), counters_.rejected_validate.load(), counters_.rejected_sink.load(),
                counters_.batches.load());
  };
  if (!failed) {
    if (!open_.empty() && hand_off(close_open_batch())) wait_until_applied();
    deliver_commits();
    publish_lag();  // the final lag, before leaving the group drops the series
    // Caught up means everything is committed now; leaving the group takes
    // a round trip or more and changes nothing of that.
    if (drained) summary("caught up");
    if (auto status = source_->close(); !status) log()->warn("{}", status.error().message);
  }
  {
    std::lock_guard lock(mutex_);
    apply_thread_exit_ = true;
  }
  changed_.notify_all();
  for (auto& lane : lanes_) lane->thread.join();
  {
    // Work not committed is abandoned. Its records may hold the source's
    // buffers, which must be returned before the source can be destroyed.
    std::lock_guard lock(mutex_);
    spent_.clear();
    for (auto& lane : lanes_) lane->queued.reset();
  }
  if (failed) {
    open_ = OpenBatch{};
    open_records_ = 0;
    overflow_.clear();
  }
  if (!drained || failed) summary("stopped");
  std::lock_guard lock(mutex_);
  if (fatal_) return *fatal_;
  return {};
}

void Pipeline::process(RawRecord&& consumed) {
  if (open_.empty()) {
    open_.opened = Clock::now();
    // Growing the vector would move every event already in it.
    constexpr size_t kMaxReserved = 16384;
    open_.batch.entries.reserve(std::min(config_.pipeline.batch_size, kMaxReserved));
  }
  set_next(consumed, Offset{consumed.offset.value + 1});
  ++open_records_;

  std::optional<RawRecord> prepared;
  if (parts_.prepare) {
    auto outcome = parts_.prepare(consumed);
    if (!outcome) {
      const Error& error = outcome.error();
      reject(consumed, Reject{Stage::kDecode, error.reason, "", "", error.message});
      return;
    }
    prepared = std::move(*outcome);
    if (!prepared) {
      counters_.filtered.fetch_add(1, std::memory_order_relaxed);
      ++open_.batch.skipped;
      return;
    }
  }
  const RawRecord& record = prepared ? *prepared : consumed;

  auto decoded = parts_.decode(record);
  if (!decoded) {
    const Error& error = decoded.error();
    reject(record, Reject{Stage::kDecode, error.reason, "", "", error.message});
    return;
  }
  ChangeEvent& event = *decoded;
  if (event.op == Op::kMessage) {
    counters_.skipped.fetch_add(1, std::memory_order_relaxed);
    metrics_.skipped();
    ++open_.batch.skipped;
    return;
  }
  auto table = router_.route(event);
  if (table) {
    auto [known, first] = table_of_topic_.try_emplace(event.origin.topic, *table);
    if (!first && known->second && *known->second != *table) known->second.reset();
  } else if (!event.tombstone) {
    reject(record, Reject{Stage::kValidate, "table.name.format", "", "", table.error().message});
    return;
  } else if (auto known = table_of_topic_.find(event.origin.topic);
             known != table_of_topic_.end() && known->second) {
    // Tombstones carry no source block: they go where their topic's events go.
    table = *known->second;
  } else {
    // table.name.format needs the source block, and either no event of this
    // topic has been seen since start-up or the topic feeds several tables.
    // Debezium writes the delete before its tombstone, at a lower offset, so
    // the row is gone and the tombstone has nothing left to do; guessing a
    // table could delete another table's row with the same key.
    if (tombstones_skipped_.insert(event.origin.topic).second) {
      log()->info("tombstones of {} skipped: table.name.format needs a source block to name their table "
                  "(their delete events carry the delete)", event.origin.topic);
    }
    counters_.skipped.fetch_add(1, std::memory_order_relaxed);
    metrics_.skipped();
    ++open_.batch.skipped;
    return;
  }
  event.table = std::move(*table);
  for (const Validator* validator : parts_.validators) {
    if (auto rejected = validator->validate(event)) {
      if (rejected->table.empty()) rejected->table = event.table.display();
      reject(record, std::move(*rejected));
      return;
    }
  }
  if (parts_.masker != nullptr) {
    if (auto rejected = parts_.masker->apply(event)) {
      reject(record, std::move(*rejected));
      return;
    }
  }
  in_flight_bytes_ += record_bytes(record);
  open_.batch.entries.push_back(BatchEntry{prepared ? std::move(*prepared) : std::move(consumed), std::move(event)});
}

void Pipeline::set_next(const RawRecord& record, Offset next) {
  auto it = open_.next.find(TopicPartitionRef{record.topic, record.partition});
  if (it == open_.next.end()) {
    open_.next.emplace(TopicPartition{std::string(record.topic), record.partition}, next);
  } else {
    it->second = next;
  }
}

void Pipeline::reject(const RawRecord& record, Reject rejected) {
  (rejected.stage == Stage::kDecode ? counters_.rejected_decode : counters_.rejected_validate)
      .fetch_add(1, std::memory_order_relaxed);
  metrics_.rejected(rejected.stage);
  if (config_.errors.tolerance == ErrorsTolerance::kNone) {
    // Nothing past the record before it may be committed.
    set_next(record, record.offset);
    pending_fatal_ = Error::fatal("rejected_with_errors_tolerance_none",
                                  std::string(to_string(rejected.stage)) + " rejected " + coordinates(record) + ": " +
                                      rejected.message + " (errors.tolerance = none)");
    return;
  }
  in_flight_bytes_ += record_bytes(record);
  open_.batch.rejects.push_back(RejectedRecord{record, std::move(rejected)});
}

Batch Pipeline::close_open_batch() {
  Batch batch = std::move(open_.batch);
  for (const auto& [tp, next] : open_.next) {
    batch.offsets.push_back(PartitionOffset{tp, next});
    Offset& handed = handed_next_[tp];
    handed = std::max(handed, next);
  }
  open_ = OpenBatch{};
  open_records_ = 0;
  return batch;
}

bool Pipeline::hand_off(Batch batch) {
  // Each lane gets the entries, rejects and offsets of its partitions; a
  // partition's records stay in their order.
  std::vector<Batch> parts(lanes_.size());
  if (lanes_.size() == 1) {
    parts[0] = std::move(batch);
  } else {
    for (const PartitionOffset& offset : batch.offsets) parts[lane_of(offset.partition)].offsets.push_back(offset);
    auto lane_of_record = [&](const RawRecord& record) {
      return lane_of(TopicPartitionRef{record.topic, record.partition});
    };
    std::vector<size_t> lane_of_entry;
    std::vector<size_t> entries_of_lane(lanes_.size(), 0);
    lane_of_entry.reserve(batch.entries.size());
    for (const BatchEntry& entry : batch.entries) ++entries_of_lane[lane_of_entry.emplace_back(lane_of_record(entry.raw))];
    for (size_t lane = 0; lane < lanes_.size(); ++lane) parts[lane].entries.reserve(entries_of_lane[lane]);
    for (size_t i = 0; i < batch.entries.size(); ++i) parts[lane_of_entry[i]].entries.push_back(std::move(batch.entries[i]));
    for (RejectedRecord& rejected : batch.rejects) {
      parts[lane_of_record(rejected.raw)].rejects.push_back(std::move(rejected));
    }
    for (Batch& part : parts) {
      if (!part.offsets.empty()) {
        part.skipped = batch.skipped;  // counted once, with the first part
        break;
      }
    }
  }
  std::unique_lock lock(mutex_);
  for (size_t i = 0; i < lanes_.size(); ++i) {
    if (parts[i].offsets.empty() && parts[i].entries.empty() && parts[i].rejects.empty()) continue;
    Lane& lane = *lanes_[i];
    for (;;) {
      if (fatal_) return false;
      if (!lane.queued) break;
      if (stop_requested_ && Clock::now() > hard_stop_deadline_) return false;
      changed_.wait_for(lock, std::chrono::milliseconds(100));
    }
    lane.queued = std::move(parts[i]);
    changed_.notify_all();
  }
  return true;
}

void Pipeline::wait_for_room() {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, std::chrono::milliseconds(100), [&] {
    return fatal_.has_value() || stop_requested_ ||
           (!any_queued() && in_flight_bytes_ <= config_.pipeline.max_in_flight_bytes);
  });
}

void Pipeline::wait_until_applied() {
  std::unique_lock lock(mutex_);
  while (!fatal_ && !all_idle()) {
    if (stop_requested_ && Clock::now() > hard_stop_deadline_) {
      lock.unlock();
      fail(Error::fatal("shutdown_timeout", "the current batch could not be committed within shutdown.timeout.ms; "
                                            "it will be re-delivered on restart"));
      return;
    }
    changed_.wait_for(lock, std::chrono::milliseconds(100));
  }
}

void Pipeline::deliver_commits() {
  std::vector<PartitionOffset> offsets;
  {
    std::lock_guard lock(mutex_);
    offsets.swap(to_commit_);
  }
  if (offsets.empty()) return;
  for (const auto& po : offsets) {
    auto [it, inserted] = committed_next_.try_emplace(po.partition, po.next);
    if (!inserted) it->second = std::max(it->second, po.next);
  }
  if (auto status = source_->commit(offsets); !status) {
    log()->debug("group commit failed (stored offsets are unaffected): {}", status.error().message);
  }
}

void Pipeline::publish_lag() {
  lag_published_ = Clock::now();
  auto assignment = source_->assignment();
  std::map<TopicPartition, Watermarks> marks;
  for (const auto& tp : assignment) {
    auto mark = source_->watermarks({tp}, std::chrono::milliseconds(0));  // zero: from the fetches, never waits
    if (mark && !mark->empty()) marks.insert(*mark->begin());            // else not fetched yet
  }
  std::map<TopicPartition, int64_t> lag;
  for (const auto& [tp, watermark] : marks) {
    auto committed = committed_next_.find(tp);
    int64_t from = committed != committed_next_.end() ? committed->second.value : watermark.low.value;
    lag[tp] = std::max<int64_t>(0, watermark.high.value - from);
  }
  metrics_.publish_lag(assignment, lag);
}

Pipeline::Drained Pipeline::drained(const TopicPartition& tp, const Watermarks& watermark) {
  // Only an end reached since the assignment says the partition is drained:
  // the watermarks of a partition assigned again are those of its last fetch
  // until a new one comes, and it brings the end with it.
  std::optional<Offset> next = source_->next_offset(tp);
  if (!next) return {};
  if (watermark.high == watermark.low) return {true, std::nullopt};  // empty partition
  auto it = committed_next_.find(tp);
  const Offset stored = it != committed_next_.end() ? it->second : Offset{-1};
  if (stored >= watermark.high) return {true, std::nullopt};
  // Nothing is in flight, so what was delivered is stored; the source may be
  // further on: at the end without a record to apply (started at the group's
  // committed offset, auto.offset.reset=latest) or past a transaction marker
  // that follows the last record.
  if (*next < watermark.high) return {};
  return {true, *next};
}

void Pipeline::add_drained_positions(std::map<TopicPartition, Offset, std::less<>>& next) {
  // Records read but not in a batch yet lie before the end the source reports.
  std::set<TopicPartition, std::less<>> unbatched;
  for (const RawRecord& record : overflow_) {
    if (!unbatched.contains(TopicPartitionRef{record.topic, record.partition})) {
      unbatched.insert(TopicPartition{std::string(record.topic), record.partition});
    }
  }
  auto marks = source_->watermarks(source_->assignment(), std::chrono::milliseconds(0));  // from the fetches
  if (!marks) return;
  for (const auto& [tp, watermark] : *marks) {
    if (unbatched.contains(tp)) continue;
    // Whatever was handed off before goes first: a lane applies its batches
    // in order. Only ever forward: the end a fetch reported may be behind
    // records read since.
    auto handed = handed_next_.find(tp);
    auto in_batch = next.find(tp);
    Offset ahead = handed != handed_next_.end() ? handed->second : Offset{-1};
    if (in_batch != next.end()) ahead = std::max(ahead, in_batch->second);
    if (ahead >= watermark.high) continue;  // the usual case: nothing past the records
    Drained d = drained(tp, watermark);
    if (d.past_stored && *d.past_stored > ahead) next[tp] = *d.past_stored;
  }
}

bool Pipeline::caught_up() {
  auto assignment = source_->assignment();
  if (assignment.empty()) return false;
  // From the fetch responses only: asking the broker takes up to a fetch wait
  // per partition, and after a rebalance that hands over many partitions the
  // Kafka thread would stop polling long enough to be dropped from the group.
  auto marks = source_->watermarks(assignment, std::chrono::milliseconds(0));
  if (!marks) {
    log()->debug("cannot read end offsets yet: {}", marks.error().message);
    return false;
  }
  if (marks->size() < assignment.size()) return false;  // some partition not fetched yet
  for (const auto& [tp, watermark] : *marks) {
    Drained d = drained(tp, watermark);
    // An end past the stored offset is on its way (add_drained_positions).
    if (!d.drained || d.past_stored) return false;
  }
  return group_caught_up();
}

bool Pipeline::group_caught_up() {
  // The partitions of a member that left belong to nobody until the next
  // rebalance hands them over: this member is done only when every partition
  // of the subscription is, whoever holds it, by the offsets stored with the
  // rows (each member stores how far it got, records or not).
  if (Clock::now() - last_group_check_ < kGroupCheckInterval) return false;
  last_group_check_ = Clock::now();
  auto elsewhere = source_->watermarks_elsewhere(kGroupCheckTimeout);
  if (!elsewhere) {
    group_check_failed("cannot read the end offsets of the group's other partitions yet: " +
                       elsewhere.error().message);
    return false;
  }
  std::vector<TopicPartition> others;
  for (const auto& [tp, watermark] : *elsewhere) {
    if (watermark.high > watermark.low) others.push_back(tp);
  }
  if (others.empty()) return true;
  Result<std::map<TopicPartition, Offset>> stored = std::map<TopicPartition, Offset>{};
  {
    Lane& lane = *lanes_.front();
    std::lock_guard sink_lock(lane.sink_mutex);
    stored = lane.parts.sink->load_offsets(config_.kafka.group_id(), others);
  }
  if (!stored) {
    group_check_failed("cannot read the group's stored offsets yet: " + stored.error().message);
    return false;
  }
  std::vector<std::string> behind;
  for (const auto& tp : others) {
    auto it = stored->find(tp);
    const Offset high = elsewhere->at(tp).high;
    if (it == stored->end() || it->second < high) {
      behind.push_back(tp.topic + "[" + std::to_string(tp.partition.value) + "] at " +
                       (it == stored->end() ? std::string("nothing stored") : std::to_string(it->second.value)) +
                       " of " + std::to_string(high.value));
    }
  }
  if (behind.empty()) return true;
  if (!waiting_for_group_) {
    waiting_for_group_ = true;
    log()->info("own partitions caught up; waiting for {} partition(s) of other members or not yet reassigned, "
                "first {}", behind.size(), behind.front());
  }
  return false;
}

void Pipeline::group_check_failed(const std::string& message) {
  uint64_t suppressed = 0;
  if (group_check_log_.allow(suppressed)) {
    log()->warn("{} ({} more like it held back)", message, suppressed);
  } else {
    log()->debug("{}", message);
  }
}

Result<std::map<TopicPartition, Offset>> Pipeline::on_assigned(const std::vector<TopicPartition>& partitions) {
  // Work handed to the apply side before partitions were lost must be dropped
  // or committed before the stored offsets are read: a batch committed after
  // the read would be read and applied a second time.
  bool any_lost;
  {
    std::lock_guard lock(mutex_);
    any_lost = !lost_.empty();
  }
  if (any_lost) wait_until_applied();
  Result<std::map<TopicPartition, Offset>> stored = std::map<TopicPartition, Offset>{};
  {
    Lane& lane = *lanes_.front();
    std::lock_guard sink_lock(lane.sink_mutex);
    stored = lane.parts.sink->load_offsets(config_.kafka.group_id(), partitions);
  }
  if (stored) {
    for (const auto& [tp, next] : *stored) committed_next_[tp] = next;
    start_unstored_from_beginning(partitions, *stored);
  }
  if (stored || postgres_unreachable(stored.error())) metrics_.postgres_up(stored.ok());
  {
    std::lock_guard lock(mutex_);
    for (const auto& tp : partitions) lost_.erase(tp);
  }
  return stored;
}

void Pipeline::start_unstored_from_beginning(const std::vector<TopicPartition>& partitions,
                                             std::map<TopicPartition, Offset>& stored) {
  std::set<std::string> stored_topics;
  for (const auto& [tp, next] : stored) stored_topics.insert(tp.topic);
  for (const auto& tp : partitions) {
    if (stored_topics.contains(tp.topic) && stored.try_emplace(tp, kFromBeginning).second) {
      log()->info("{}[{}] has no stored offset although other partitions of its topic do: reading it from the "
                  "beginning (re-applying is idempotent)", tp.topic, tp.partition.value);
    }
  }
}

void Pipeline::drop_lost(Batch& batch) {
  if (lost_.empty()) return;
  auto is_lost = [&](const RawRecord& record) {
    return lost_.contains(TopicPartition{std::string(record.topic), record.partition});
  };
  std::erase_if(batch.entries, [&](const BatchEntry& entry) { return is_lost(entry.raw); });
  std::erase_if(batch.rejects, [&](const RejectedRecord& rejected) { return is_lost(rejected.raw); });
  std::erase_if(batch.offsets, [&](const PartitionOffset& offset) { return lost_.contains(offset.partition); });
}

void Pipeline::on_revoked(const std::vector<TopicPartition>& partitions, bool lost) {
  std::set<TopicPartition> revoked(partitions.begin(), partitions.end());
  auto is_revoked = [&](const RawRecord& record) {
    return revoked.contains(TopicPartition{std::string(record.topic), record.partition});
  };
  // Records not yet in a batch are simply re-read by the next owner.
  std::erase_if(overflow_, is_revoked);
  if (lost) {
    // Another member may own them already: abandon their open work.
    size_t open_bytes = batch_bytes(open_.batch);
    std::erase_if(open_.batch.entries, [&](const BatchEntry& entry) { return is_revoked(entry.raw); });
    std::erase_if(open_.batch.rejects, [&](const RejectedRecord& rejected) { return is_revoked(rejected.raw); });
    for (const auto& tp : partitions) open_.next.erase(tp);
    open_records_ = open_.batch.entries.size() + open_.batch.rejects.size();
    // Work already handed to the apply side is dropped too: a batch waiting
    // loses their part now, one being applied before its COMMIT (BeforeCommit
    // fails it and the retry goes without them). Nothing is waited for: the
    // new owner may be applying these partitions already.
    size_t dropped = open_bytes - batch_bytes(open_.batch);
    {
      std::lock_guard lock(mutex_);
      lost_.insert(partitions.begin(), partitions.end());
      for (auto& lane : lanes_) {
        if (!lane->queued) continue;
        size_t queued_bytes = batch_bytes(*lane->queued);
        drop_lost(*lane->queued);
        dropped += queued_bytes - batch_bytes(*lane->queued);
      }
    }
    in_flight_bytes_ -= std::min(dropped, in_flight_bytes_.load());
    for (const auto& tp : partitions) {
      committed_next_.erase(tp);
      handed_next_.erase(tp);
    }
    log()->warn("{} partition(s) lost: their uncommitted work is dropped and will be re-read by their new owner",
                partitions.size());
    return;
  }
  // Commit everything read so far before the partitions go.
  if (!open_.empty() && hand_off(close_open_batch())) wait_until_applied();
  deliver_commits();
  for (const auto& tp : partitions) {
    committed_next_.erase(tp);
    handed_next_.erase(tp);
  }
}

void Pipeline::apply_loop(Lane& lane) {
  for (;;) {
    Batch batch;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return lane.queued.has_value() || apply_thread_exit_ || fatal_.has_value(); });
      if (fatal_ || !lane.queued) return;
      batch = std::move(*lane.queued);
      lane.queued.reset();
      lane.applying = true;
    }
    changed_.notify_all();
    size_t bytes = batch_bytes(batch);
    bool ok = apply_batch(lane, batch);
    {
      std::lock_guard lock(mutex_);
      in_flight_bytes_ -= std::min<size_t>(bytes, in_flight_bytes_);
      lane.applying = false;
      if (ok) to_commit_.insert(to_commit_.end(), batch.offsets.begin(), batch.offsets.end());
      spent_.push_back(std::move(batch));
    }
    changed_.notify_all();
    if (!ok) return;
  }
}

bool Pipeline::back_off(std::chrono::milliseconds& delay) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, delay, [&] { return fatal_.has_value() || (stop_requested_ && Clock::now() > hard_stop_deadline_); });
  if (fatal_) return false;
  if (stop_requested_ && Clock::now() > hard_stop_deadline_) {
    lock.unlock();
    fail(Error::fatal("shutdown_timeout", "gave up retrying the current batch at shutdown; it will be re-delivered"));
    return false;
  }
  delay = std::min(delay * 2, config_.errors.retry_backoff_max);
  return true;
}

Status Pipeline::queue_rejects(Lane& lane, const Batch& batch, std::span<const SinkReject> sink_rejects) {
  if (lane.parts.dead_letters == nullptr) return Error::fatal("no_dead_letter_topic", "a record was rejected but no dead-letter topic is configured");
  auto send = [&](const RawRecord& raw, const Reject& reject) -> Status {
    if (auto status = lane.parts.dead_letters->send(raw, reject, attempt_of(raw)); !status) {
      metrics_.dead_letter_failed();
      return status;
    }
    ++lane.dead_letters_queued;
    return {};
  };
  if (sink_rejects.empty()) {
    for (const RejectedRecord& rejected : batch.rejects) {
      if (Status status = send(rejected.raw, rejected.reject); !status) return status;
    }
  } else {
    for (const SinkReject& rejected : sink_rejects) {
      if (Status status = send(batch.entries.at(rejected.entry_index).raw, rejected.reject); !status) return status;
    }
  }
  return {};
}

Status Pipeline::flush_dead_letters(Lane& lane) {
  size_t queued = std::exchange(lane.dead_letters_queued, 0);
  if (auto status = lane.parts.dead_letters->flush(kDeadLetterFlushTimeout); !status) {
    metrics_.dead_letter_failed();
    return status;
  }
  counters_.dead_lettered.fetch_add(queued, std::memory_order_relaxed);
  metrics_.dead_lettered(queued);
  return {};
}

bool Pipeline::apply_batch(Lane& lane, Batch& batch) {
  auto started = Clock::now();
  // The batch's rejects must be durable in the dead-letter topic before its
  // offsets commit. They are produced first and acknowledged just before
  // COMMIT, so the produce overlaps the transaction; after a dead-letter
  // failure they are made durable before the transaction, retried on their
  // own, so an outage of the topic costs no transactions.
  enum class Rejects { kUnsent, kQueued, kDurable };
  Rejects rejects_state = batch.rejects.empty() ? Rejects::kDurable : Rejects::kUnsent;
  bool dead_letters_failed = false;
  std::chrono::milliseconds dead_letter_delay = config_.errors.retry_backoff_initial;
  auto dead_letter_retry = [&](const Error& error) {
    counters_.transient_errors.fetch_add(1, std::memory_order_relaxed);
    metrics_.transient_error("dead_letter", error);
    if (uint64_t suppressed = 0; retry_warnings().allow(suppressed)) {
      log()->warn("dead-letter topic not writable, retrying in {} ms: {}{}", dead_letter_delay.count(), error.message,
                  suppressed_note(suppressed));
    }
    return back_off(dead_letter_delay);
  };

  // Rows and offsets in one transaction; rows the target refuses go to the
  // dead-letter topic before COMMIT.
  bool flush_failed = false;
  Sink::BeforeCommit before_commit = [&](std::span<const SinkReject> rejects) -> Status {
    {
      std::lock_guard lock(mutex_);
      for (const PartitionOffset& offset : batch.offsets) {
        if (lost_.contains(offset.partition)) {
          return Error::transient("partitions_lost", "partitions of the batch were lost while it was applied");
        }
      }
    }
    if (!rejects.empty() && config_.errors.tolerance == ErrorsTolerance::kNone) {
      const SinkReject& first = rejects.front();
      return Error::fatal("rejected_with_errors_tolerance_none",
                          "sink rejected " + coordinates(batch.entries.at(first.entry_index).raw) + ": " +
                              first.reject.message + " (errors.tolerance = none)");
    }
    if (!rejects.empty()) {
      if (Status status = queue_rejects(lane, batch, rejects); !status) {
        flush_failed = true;
        return status;
      }
    }
    if (rejects.empty() && rejects_state != Rejects::kQueued) return {};
    if (Status status = flush_dead_letters(lane); !status) {
      // Records not acknowledged were discarded: the retry sends them again.
      if (rejects_state == Rejects::kQueued) rejects_state = Rejects::kUnsent;
      flush_failed = true;
      return status;
    }
    if (rejects_state == Rejects::kQueued) rejects_state = Rejects::kDurable;
    return {};
  };
  std::chrono::milliseconds delay = config_.errors.retry_backoff_initial;
  int failures = 0;  // transient failures of this batch's apply
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      drop_lost(batch);
    }
    if (rejects_state == Rejects::kUnsent && batch.rejects.empty()) rejects_state = Rejects::kDurable;
    while (rejects_state == Rejects::kUnsent) {
      Status status = queue_rejects(lane, batch, {});
      if (status) rejects_state = Rejects::kQueued;
      if (status && dead_letters_failed) {
        status = flush_dead_letters(lane);
        if (status) rejects_state = Rejects::kDurable;
      }
      if (status) break;
      if (status.error().error_class == ErrorClass::kFatal) {
        fail(status.take_error());
        return false;
      }
      lane.dead_letters_queued = 0;
      rejects_state = Rejects::kUnsent;
      dead_letters_failed = true;
      if (!dead_letter_retry(status.error())) return false;
    }
    Result<ApplyStats> applied = ApplyStats{};
    flush_failed = false;
    {
      std::lock_guard sink_lock(lane.sink_mutex);
      applied = lane.parts.sink->apply(batch, before_commit);
    }
    if (applied) {
      counters_.applied.fetch_add(applied->applied, std::memory_order_relaxed);
      counters_.skipped.fetch_add(applied->skipped, std::memory_order_relaxed);
      counters_.skipped_stale.fetch_add(applied->stale, std::memory_order_relaxed);
      counters_.rejected_sink.fetch_add(applied->rejects.size(), std::memory_order_relaxed);
      counters_.batches.fetch_add(1, std::memory_order_relaxed);
      int64_t commit_ms = wall_ms();
      counters_.last_commit_ms.store(commit_ms, std::memory_order_relaxed);
      metrics_.committed(batch, *applied, Clock::now() - started, commit_ms);
      metrics_.postgres_up(true);
      if (failures > 0) log()->info("batch committed after {} attempts: PostgreSQL is back", failures + 1);
      log()->debug("batch committed: {} events, {} applied, {} rejected, {} partitions in {} ms", batch.entries.size(),
                   applied->applied, batch.rejects.size() + applied->rejects.size(), batch.offsets.size(),
                   std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count());
      return true;
    }
    if (applied.error().error_class != ErrorClass::kTransient) {
      fail(applied.take_error());
      return false;
    }
    if (flush_failed) {
      dead_letters_failed = true;
      if (!dead_letter_retry(applied.error())) return false;
      continue;
    }
    if (applied.error().reason == "partitions_lost") continue;  // again at once, without them
    ++failures;
    counters_.transient_errors.fetch_add(1, std::memory_order_relaxed);
    metrics_.transient_error("sink", applied.error());
    if (postgres_unreachable(applied.error())) metrics_.postgres_up(false);
    if (uint64_t suppressed = 0; retry_warnings().allow(suppressed)) {
      log()->warn("batch not applied, retrying in {} ms: {}{}", delay.count(), applied.error().message,
                  suppressed_note(suppressed));
    }
    if (!back_off(delay)) return false;
  }
}

}  // namespace sluice
