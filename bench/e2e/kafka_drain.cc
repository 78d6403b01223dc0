#include "kafka_drain.h"

#include <librdkafka/rdkafkacpp.h>

#include <memory>
#include <stdexcept>
#include <vector>

namespace sluice::bench {

DrainResult drain_topic(const std::string& bootstrap, const std::string& topic,
                        const std::map<int32_t, int64_t>& end_offsets, std::chrono::seconds timeout) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  for (const auto& [key, value] : std::map<std::string, std::string>{{"bootstrap.servers", bootstrap},
                                                                     {"group.id", topic + "_drain"},
                                                                     {"enable.auto.commit", "false"},
                                                                     {"enable.partition.eof", "false"}}) {
    if (conf->set(key, value, error) != RdKafka::Conf::CONF_OK) throw std::runtime_error(key + ": " + error);
  }
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (!consumer) throw std::runtime_error("cannot create the drain consumer: " + error);

  std::map<int32_t, int64_t> remaining;  // partition -> end offset, while not reached
  std::vector<RdKafka::TopicPartition*> assignment;
  for (const auto& [partition, end] : end_offsets) {
    if (end > 0) remaining[partition] = end;
    assignment.push_back(RdKafka::TopicPartition::create(topic, partition, RdKafka::Topic::OFFSET_BEGINNING));
  }
  DrainResult result;
  auto started = std::chrono::steady_clock::now();
  consumer->assign(assignment);
  RdKafka::TopicPartition::destroy(assignment);
  auto deadline = started + timeout;
  while (!remaining.empty()) {
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("drain of " + topic + " timed out");
    std::unique_ptr<RdKafka::Message> message(consumer->consume(100));
    if (message->err() == RdKafka::ERR__TIMED_OUT) continue;
    if (message->err() != RdKafka::ERR_NO_ERROR) throw std::runtime_error("drain: " + message->errstr());
    ++result.records;
    result.bytes += message->len() + message->key_len();
    auto it = remaining.find(message->partition());
    if (it != remaining.end() && message->offset() + 1 >= it->second) remaining.erase(it);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  consumer->close();
  return result;
}

}  // namespace sluice::bench
