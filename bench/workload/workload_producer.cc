#include "workload_producer.h"

#include <librdkafka/rdkafkacpp.h>

#include <memory>
#include <stdexcept>

namespace sluice::workload {
namespace {

class DeliveryReports : public RdKafka::DeliveryReportCb {
 public:
  explicit DeliveryReports(std::vector<RecordCoordinates>& coordinates) : coordinates_(coordinates) {}

  void dr_cb(RdKafka::Message& message) override {
    if (message.err() != RdKafka::ERR_NO_ERROR) {
      if (error_.empty()) error_ = message.errstr();
      return;
    }
    auto index = reinterpret_cast<uintptr_t>(message.msg_opaque());
    coordinates_[index] = RecordCoordinates{message.partition(), message.offset()};
  }
  const std::string& error() const { return error_; }

 private:
  std::vector<RecordCoordinates>& coordinates_;
  std::string error_;
};

}  // namespace

std::vector<RecordCoordinates> produce(const DebeziumWorkload& workload, const ProduceOptions& options) {
  const auto& records = workload.records();
  std::vector<RecordCoordinates> coordinates(records.size());
  DeliveryReports reports(coordinates);

  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::map<std::string, std::string> settings = {{"bootstrap.servers", options.bootstrap_servers},
                                                 {"enable.idempotence", "true"},
                                                 {"linger.ms", "20"},
                                                 {"batch.size", "1000000"},
                                                 {"queue.buffering.max.kbytes", "262144"},
                                                 {"message.max.bytes", "10000000"}};
  for (const auto& [key, value] : options.properties) settings[key] = value;
  std::string error;
  for (const auto& [key, value] : settings) {
    if (conf->set(key, value, error) != RdKafka::Conf::CONF_OK) throw std::runtime_error(key + ": " + error);
  }
  if (conf->set("dr_cb", &reports, error) != RdKafka::Conf::CONF_OK) throw std::runtime_error(error);
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), error));
  if (!producer) throw std::runtime_error("cannot create the producer: " + error);

  size_t last = std::min(options.last, records.size());
  for (size_t i = options.first; i < last; ++i) {
    const WorkloadRecord& record = records[i];
    // produce() takes the headers over only when it succeeds.
    std::unique_ptr<RdKafka::Headers> headers;
    if (!record.invalid.empty()) {
      headers.reset(RdKafka::Headers::create());
      headers->add("workload.invalid", record.invalid);
    }
    for (;;) {
      RdKafka::ErrorCode code = producer->produce(
          options.topic, record.partition, RdKafka::Producer::RK_MSG_COPY,
          record.value ? const_cast<char*>(record.value->data()) : nullptr, record.value ? record.value->size() : 0,
          record.key.data(), record.key.size(), 0, headers.get(), reinterpret_cast<void*>(static_cast<uintptr_t>(i)));
      if (code == RdKafka::ERR_NO_ERROR) {
        (void)headers.release();
        break;
      }
      if (code != RdKafka::ERR__QUEUE_FULL) {
        throw std::runtime_error("produce to " + options.topic + ": " + RdKafka::err2str(code));
      }
      producer->poll(50);
    }
    producer->poll(0);
  }
  if (producer->flush(120'000) != RdKafka::ERR_NO_ERROR) throw std::runtime_error("flush timed out");
  if (!reports.error().empty()) throw std::runtime_error("delivery failed: " + reports.error());
  return coordinates;
}

}  // namespace sluice::workload
