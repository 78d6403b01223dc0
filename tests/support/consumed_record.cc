#include "tests/support/consumed_record.h"

#include "tests/support/test_services.h"

namespace sluice::testing {

std::unique_ptr<RdKafka::KafkaConsumer> consumer_from_start(const std::string& topic) {
  std::string error;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", dev_broker().bootstrap_servers(), error);
  conf->set("group.id", unique_name("dlq_reader"), error);
  conf->set("auto.offset.reset", "earliest", error);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
  consumer->subscribe({topic});
  return consumer;
}

ConsumedRecord consumed_record(RdKafka::Message& message) {
  ConsumedRecord record;
  if (message.key()) record.key = *message.key();
  if (message.payload()) record.value = std::string(static_cast<const char*>(message.payload()), message.len());
  if (RdKafka::Headers* headers = message.headers()) {
    for (const auto& header : headers->get_all()) {
      record.headers[header.key()] =
          header.value() ? std::string(static_cast<const char*>(header.value()), header.value_size()) : "";
    }
  }
  return record;
}

}  // namespace sluice::testing
