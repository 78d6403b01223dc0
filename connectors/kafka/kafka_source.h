// KafkaSource: a consumer-group member that delivers raw records without
// copying them out of librdkafka's buffers, positions partitions from the
// offsets stored with the rows (PostgreSQL), and tells its listener before a
// partition is taken away so in-flight work is committed or abandoned, never
// committed later by a consumer that no longer owns it.
// pause_all() is soft at first. For a short pause (one batch being applied)
// poll() only serves the group: librdkafka's own queue bound
// (queued.max.messages.kbytes) stops it fetching, and what it prefetched stays
// valid. A longer pause moves the prefetched records into a bounded hold,
// returned first after resume_all(); only when the hold is full are the
// partitions paused in librdkafka, which drops its prefetched records and
// fetches them again on resume.
// librdkafka 2.0.2 stops fetching while its queue is over
// queued.max.messages.kbytes and then sleeps a fixed second before it looks
// again, even when the queue empties sooner. When the consumer runs dry right
// after records flowed, a kicker thread asks the broker for one partition's
// watermarks: the request wakes the broker thread, which fetches again.
// Driven by one thread (poll() and the rebalance callbacks run on it);
// commit() may be called from another.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sluice/config.h"
#include "sluice/source.h"

namespace sluice::kafka {

class KafkaSource final : public Source {
 public:
  // Subscribes to `topics` or `topics_regex`. auto commit and offset store are
  // forced off and the assignment strategy to cooperative-sticky (overrides logged).
  static Result<std::unique_ptr<KafkaSource>> create(const KafkaConfig& config, PartitionListener& listener);
  ~KafkaSource() override;

  Result<std::vector<RawRecord>> poll(size_t max_records, std::chrono::milliseconds timeout) override;
  // Asynchronous commit to the group (for lag tools); the stored offsets in
  // PostgreSQL stay the truth.
  Status commit(const std::vector<PartitionOffset>& offsets) override;

  void pause_all() override;
  void resume_all() override;
  bool paused() const { return paused_; }

  std::vector<TopicPartition> assignment() const override;
  // Watermarks from the last fetch responses; asks the broker for partitions
  // not fetched yet unless `timeout` is zero.
  Result<std::map<TopicPartition, Watermarks>> watermarks(const std::vector<TopicPartition>& partitions,
                                                          std::chrono::milliseconds timeout) override;
  // Held records first, then where the partition's end was last reached
  // since its assignment: librdkafka's partition EOF, which comes after the
  // records before it, with a fresh end offset, and counts offsets that hold
  // no record, such as transaction markers; or, sooner, a delivered record
  // just below the high watermark of the fetch that brought it.
  std::optional<Offset> next_offset(const TopicPartition& tp) override;
  // The subscription's partitions are known from the topic metadata read at
  // the last assignment; those not assigned here take two ListOffsets requests
  // (first and end offsets), bounded by `timeout` each.
  Result<std::map<TopicPartition, Watermarks>> watermarks_elsewhere(std::chrono::milliseconds timeout) override;
  Status close() override;

 private:
  class Rebalance : public RdKafka::RebalanceCb {
   public:
    explicit Rebalance(KafkaSource& owner) : owner_(owner) {}
    void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                      std::vector<RdKafka::TopicPartition*>& partitions) override;

   private:
    KafkaSource& owner_;
  };
  class Events : public RdKafka::EventCb {
   public:
    void event_cb(RdKafka::Event& event) override;
  };

  // Records held while paused before the partitions are paused in librdkafka.
  static constexpr size_t kMaxHeldBytes = 32u << 20;
  // Pauses shorter than this leave the prefetched records in librdkafka.
  static constexpr std::chrono::milliseconds kShortPause{2000};

  explicit KafkaSource(PartitionListener& listener) : listener_(listener) {}
  // The next record, nullopt when none came within `wait_ms`.
  Result<std::optional<RawRecord>> next(int wait_ms);
  // While paused: moves fetched records into held_ for up to `timeout`.
  Status hold(std::chrono::milliseconds timeout);
  void pause_fetching();
  // Asks the kicker thread to wake librdkafka's fetching (rate-limited).
  void kick_fetcher();
  void kicker_loop();
  void stop_kicker();
  void assign(std::vector<RdKafka::TopicPartition*>& partitions);
  // Positions partitions sluice stored no offset for at the group's committed
  // offset, else where auto.offset.reset says (returned: still a logical
  // offset); leaves those it cannot to librdkafka (OFFSET_INVALID).
  std::vector<RdKafka::TopicPartition*> position_unstored(std::vector<RdKafka::TopicPartition*>& unstored);
  // Replaces logical offsets (beginning, end) by the offsets they stand for now.
  void look_up_logical(std::vector<RdKafka::TopicPartition*>& logical);
  // Bound of each look-up above, made in the rebalance callback.
  static constexpr int kLookupTimeoutMs = 2000;
  void revoke(std::vector<RdKafka::TopicPartition*>& partitions);
  // Records the end as reached for each partition whose last record in
  // `records` sits just below the high watermark. librdkafka caches that
  // watermark from each fetch response before it hands out the response's
  // records, so it is at least as fresh as the record: this is the end an
  // EOF event would report, without the empty fetch that brings one (which
  // waits fetch.wait.max.ms for data once a backlog is drained).
  void note_ends_reached(const std::vector<RawRecord>& records);
  // Whether `topic` is one of the subscription's.
  bool subscribed(const std::string& topic) const;
  // Reads the partitions of the subscribed topics from the topic metadata
  // into subscription_; false when the broker does not answer in time.
  bool learn_subscription(int timeout_ms);

  PartitionListener& listener_;
  std::vector<std::string> topics_;  // the subscription: these topics, or those topics_regex_ matches
  std::optional<std::regex> topics_regex_;
  // Every partition of the subscribed topics as of the last assignment
  // (nullopt: unknown, read on demand).
  std::optional<std::set<TopicPartition>> subscription_;
  // Where auto.offset.reset starts a partition without a committed offset
  // (OFFSET_BEGINNING or OFFSET_END); OFFSET_INVALID for "error".
  int64_t reset_offset_ = RdKafka::Topic::OFFSET_BEGINNING;
  std::set<TopicPartition> assigned_;
  // Partitions revoked by rebalance callbacks during the current poll, with
  // how many records the poll had read before the last revocation of each.
  std::map<TopicPartition, size_t, std::less<>> revoked_in_poll_;
  size_t read_in_poll_ = 0;  // records the current poll has read so far
  // Where each assigned partition's end was last reached (its EOF event, or
  // its last record just below the high watermark): past every record
  // delivered, and past offsets without one.
  std::map<TopicPartition, Offset> end_reached_;
  bool paused_ = false;           // the pipeline asked to pause
  std::chrono::steady_clock::time_point paused_since_;
  bool fetching_paused_ = false;  // and the partitions are paused in librdkafka
  std::deque<RawRecord> held_;    // fetched while paused, delivered first on resume
  size_t held_bytes_ = 0;
  // The first held record's offset of each partition with held records, built
  // from held_ on demand (next_offset() is asked for every partition at once).
  std::map<TopicPartition, Offset, std::less<>> first_held_;
  bool first_held_stale_ = false;  // held_ changed since first_held_ was built
  bool closed_ = false;
  Rebalance rebalance_{*this};  // callbacks outlive consumer_
  Events events_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;

  // Records flowed this recently: running dry now is a stall, not idleness.
  static constexpr std::chrono::milliseconds kFlowWindow{2000};
  static constexpr std::chrono::milliseconds kKickInterval{100};
  std::chrono::steady_clock::time_point last_record_;
  std::chrono::steady_clock::time_point last_kick_;
  size_t kick_turn_ = 0;  // which assigned partition the next kick asks about
  std::mutex kick_mutex_;
  std::condition_variable kick_changed_;
  std::optional<TopicPartition> kick_;  // under kick_mutex_: the partition to ask about
  bool kicker_exit_ = false;            // under kick_mutex_
  std::thread kicker_;
};

}  // namespace sluice::kafka
