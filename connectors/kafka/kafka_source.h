// KafkaSource: a consumer-group member that delivers raw records without
// copying them out of librdkafka's buffers, positions partitions from the
// offsets stored with the rows (PostgreSQL), and tells its listener before a
// partition is taken away so in-flight work is committed or abandoned, never
// committed later by a consumer that no longer owns it.
// Driven by one thread (poll() and the rebalance callbacks run on it);
// commit() may be called from another.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sluice/config.h"
#include "sluice/source.h"

namespace sluice::kafka {

// What the pipeline does when partitions come and go; called on the polling
// thread from inside poll().
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  // Next offsets to read for newly assigned `partitions`, as stored with the
  // rows. Absent partitions fall back to the group's committed offset, then
  // auto.offset.reset. Returning an error fails the assignment: the source
  // retries it.
  virtual Result<std::map<TopicPartition, Offset>> on_assigned(const std::vector<TopicPartition>& partitions) = 0;
  // `partitions` are being taken away. When this returns, work for them must be
  // committed or abandoned. `lost`: the group already gave them to another
  // member, so nothing for them may be committed any more.
  virtual void on_revoked(const std::vector<TopicPartition>& partitions, bool lost) = 0;
};

class KafkaSource final : public Source {
 public:
  // Subscribes to `topics` or `topics_regex`. auto commit and offset store are
  // forced off and the assignment strategy to cooperative-sticky (overrides logged).
  static Result<std::unique_ptr<KafkaSource>> create(const KafkaConfig& config, RebalanceListener& listener);
  ~KafkaSource() override;

  Result<std::vector<RawRecord>> poll(size_t max_records, std::chrono::milliseconds timeout) override;
  // Asynchronous commit to the group (for lag tools); the stored offsets in
  // PostgreSQL stay the truth.
  Status commit(const std::vector<PartitionOffset>& offsets) override;

  // Backpressure: stop or restart fetching every assigned partition.
  void pause_all();
  void resume_all();
  bool paused() const { return paused_; }

  std::vector<TopicPartition> assignment() const;
  // The current end (high watermark) of each partition, from the broker.
  Result<std::map<TopicPartition, Offset>> end_offsets(const std::vector<TopicPartition>& partitions,
                                                       std::chrono::milliseconds timeout);
  // Leaves the group (revoking everything through the listener). Idempotent.
  Status close();

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

  explicit KafkaSource(RebalanceListener& listener) : listener_(listener) {}
  void assign(std::vector<RdKafka::TopicPartition*>& partitions);
  void revoke(std::vector<RdKafka::TopicPartition*>& partitions);

  RebalanceListener& listener_;
  std::set<TopicPartition> assigned_;
  bool paused_ = false;
  bool closed_ = false;
  Rebalance rebalance_{*this};  // callbacks outlive consumer_
  Events events_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
};

}  // namespace sluice::kafka
