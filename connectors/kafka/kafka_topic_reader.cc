#include "connectors/kafka/kafka_topic_reader.h"

#include <set>

#include "connectors/kafka/error_mapping.h"
#include "connectors/kafka/message_record.h"

namespace sluice::kafka {

Result<std::unique_ptr<KafkaTopicReader>> KafkaTopicReader::open(const KafkaConfig& config, const std::string& topic,
                                                                  std::chrono::milliseconds timeout) {
  std::unique_ptr<KafkaTopicReader> reader(new KafkaTopicReader());
  reader->topic_ = topic;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::map<std::string, std::string> settings = config.properties;
  // Partitions are assigned by hand and nothing is committed: the group is
  // never joined, group.id only satisfies librdkafka.
  settings["enable.auto.commit"] = "false";
  settings["enable.auto.offset.store"] = "false";
  settings["enable.partition.eof"] = "true";
  settings["auto.offset.reset"] = "earliest";
  std::string error;
  for (const auto& [key, value] : settings) {
    if (conf->set(key, value, error) != RdKafka::Conf::CONF_OK) {
      return Error::fatal("bad_configuration", "kafka." + key + ": " + error);
    }
  }
  reader->consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (!reader->consumer_) return Error::fatal("kafka_setup", "cannot create a Kafka consumer: " + error);

  // Metadata of all topics: asking for this one by name would create it on a
  // broker that auto-creates topics.
  RdKafka::Metadata* raw_metadata = nullptr;
  RdKafka::ErrorCode code =
      reader->consumer_->metadata(true, nullptr, &raw_metadata, static_cast<int>(timeout.count()));
  std::unique_ptr<RdKafka::Metadata> metadata(raw_metadata);
  if (code != RdKafka::ERR_NO_ERROR) return kafka_error(code, "reading the metadata of topic " + topic);
  const RdKafka::TopicMetadata* found = nullptr;
  for (const RdKafka::TopicMetadata* candidate : *metadata->topics()) {
    if (candidate->topic() == topic) found = candidate;
  }
  if (found == nullptr || found->err() == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART || found->partitions()->empty()) {
    return Error::fatal("topic_missing", "topic " + topic + " does not exist");
  }
  if (found->err() != RdKafka::ERR_NO_ERROR) return kafka_error(found->err(), "topic " + topic);
  for (const RdKafka::PartitionMetadata* partition : *found->partitions()) {
    int64_t low = 0, high = 0;
    code = reader->consumer_->query_watermark_offsets(topic, partition->id(), &low, &high,
                                                      static_cast<int>(timeout.count()));
    if (code != RdKafka::ERR_NO_ERROR) {
      return kafka_error(code, "reading the end offset of " + topic + "[" + std::to_string(partition->id()) + "]");
    }
    reader->watermarks_[TopicPartition{topic, Partition{partition->id()}}] = Watermarks{Offset{low}, Offset{high}};
  }
  return reader;
}

KafkaTopicReader::~KafkaTopicReader() {
  if (consumer_) consumer_->close();
}

int64_t KafkaTopicReader::record_count() const {
  int64_t count = 0;
  for (const auto& [tp, marks] : watermarks_) count += marks.high.value - marks.low.value;
  return count;
}

Status KafkaTopicReader::read_all(const std::function<void(const RawRecord&)>& visit,
                                  std::chrono::milliseconds idle_timeout) {
  std::vector<RdKafka::TopicPartition*> assignment;
  std::set<int32_t> pending;
  for (const auto& [tp, marks] : watermarks_) {
    if (marks.high.value <= marks.low.value) continue;
    assignment.push_back(RdKafka::TopicPartition::create(topic_, tp.partition.value, marks.low.value));
    pending.insert(tp.partition.value);
  }
  RdKafka::ErrorCode code = consumer_->assign(assignment);
  RdKafka::TopicPartition::destroy(assignment);
  if (code != RdKafka::ERR_NO_ERROR) return kafka_error(code, "assigning the partitions of " + topic_);
  auto end_of = [&](int32_t partition) { return watermarks_.at(TopicPartition{topic_, Partition{partition}}).high; };
  auto last_record = std::chrono::steady_clock::now();
  while (!pending.empty()) {
    std::shared_ptr<RdKafka::Message> message(consumer_->consume(200));
    code = message->err();
    if (code == RdKafka::ERR__TIMED_OUT) {
      if (std::chrono::steady_clock::now() - last_record > idle_timeout) {
        return Error::transient("read_timeout", "no record of " + topic_ + " arrived for " +
                                                    std::to_string(idle_timeout.count()) + " ms; " +
                                                    std::to_string(pending.size()) + " partition(s) not read to the end");
      }
      continue;
    }
    last_record = std::chrono::steady_clock::now();
    if (code == RdKafka::ERR__PARTITION_EOF) {
      pending.erase(message->partition());
      continue;
    }
    if (code != RdKafka::ERR_NO_ERROR) {
      Error error = kafka_error(code, "reading " + topic_);
      if (error.error_class == ErrorClass::kFatal) return error;
      continue;
    }
    int32_t partition = message->partition();
    if (!pending.contains(partition)) continue;
    if (message->offset() >= end_of(partition).value) {
      pending.erase(partition);
      continue;
    }
    bool last = message->offset() + 1 >= end_of(partition).value;
    visit(raw_record_of(std::move(message)));
    if (last) pending.erase(partition);
  }
  consumer_->unassign();
  return {};
}

}  // namespace sluice::kafka
