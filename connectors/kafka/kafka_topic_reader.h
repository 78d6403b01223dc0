// KafkaTopicReader: reads every partition of one topic from its first record
// to the end offsets seen when it opened, outside any consumer group (nothing
// is committed). For tools that look at a whole topic: `sluice dlq stats`, and
// the totals of `sluice replay`'s progress line. Used by one thread.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "sluice/config.h"
#include "sluice/record.h"
#include "sluice/result.h"
#include "sluice/source.h"

namespace sluice::kafka {

class KafkaTopicReader {
 public:
  // Looks the topic up and reads its watermarks, waiting up to `timeout`.
  // kFatal (reason topic_missing) when the topic does not exist; kTransient
  // when the broker cannot be reached in time.
  static Result<std::unique_ptr<KafkaTopicReader>> open(const KafkaConfig& config, const std::string& topic,
                                                        std::chrono::milliseconds timeout);
  ~KafkaTopicReader();

  // Low and high watermarks of every partition, as of open().
  const std::map<TopicPartition, Watermarks>& watermarks() const { return watermarks_; }
  // Records between the watermarks, summed over partitions.
  int64_t record_count() const;

  // Calls `visit` with every record up to the end offsets of open(), in
  // per-partition order. Fails when no record arrives for `idle_timeout`.
  Status read_all(const std::function<void(const RawRecord&)>& visit, std::chrono::milliseconds idle_timeout);

 private:
  KafkaTopicReader() = default;

  std::string topic_;
  std::map<TopicPartition, Watermarks> watermarks_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
};

}  // namespace sluice::kafka
