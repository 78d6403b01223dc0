#include "workload_producer.h"

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
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
  auto started = std::chrono::steady_clock::now();
  std::string stamped;
  for (size_t i = options.first; i < last; ++i) {
    const WorkloadRecord& record = records[i];
    if (options.rate > 0) {
      // Produce in bursts of what the clock allows, sleeping about 1 ms between them.
      auto due = started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double>(static_cast<double>(i - options.first) / options.rate));
      if (std::chrono::steady_clock::now() < due) {
        producer->poll(0);
        std::this_thread::sleep_until(due);
      }
    }
    const std::string* value = record.value ? &*record.value : nullptr;
    int64_t timestamp_ms = 0;
    if (options.stamp) {
      int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
      timestamp_ms = now_us / 1000;
      if (value && record.stamp_at != std::string::npos) {
        stamped = *value;
        std::string digits = std::to_string(now_us);
        if (digits.size() == std::strlen(kStampPlaceholder)) stamped.replace(record.stamp_at, digits.size(), digits);
        value = &stamped;
      }
    }
    // produce() takes the headers over only when it succeeds.
    std::unique_ptr<RdKafka::Headers> headers;
    if (!record.invalid.empty()) {
      headers.reset(RdKafka::Headers::create());
      headers->add("workload.invalid", record.invalid);
    }
    for (;;) {
      RdKafka::ErrorCode code = producer->produce(
          options.topic, record.partition, RdKafka::Producer::RK_MSG_COPY,
          value ? const_cast<char*>(value->data()) : nullptr, value ? value->size() : 0, record.key.data(),
          record.key.size(), timestamp_ms, headers.get(), reinterpret_cast<void*>(static_cast<uintptr_t>(i)));
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
