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

  explicit KafkaSource(PartitionListener& listener) : listener_(listener) {}
  void assign(std::vector<RdKafka::TopicPartition*>& partitions);
  void revoke(std::vector<RdKafka::TopicPartition*>& partitions);

  PartitionListener& listener_;
  std::set<TopicPartition> assigned_;
  bool paused_ = false;
  bool closed_ = false;
  Rebalance rebalance_{*this};  // callbacks outlive consumer_
  Events events_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
};

}  // namespace sluice::kafka
