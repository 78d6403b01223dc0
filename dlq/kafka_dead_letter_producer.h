// KafkaDeadLetterProducer: writes rejected records to the dead-letter topic
// with an idempotent producer (acks=all). Each record keeps its original key,
// value and headers and gains the context headers of dead_letter_headers.h.
// send() and flush() are called from one pipeline thread at a time; the
// delivery callback runs on that thread inside flush()/send().
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "sluice/config.h"
#include "sluice/dead_letter_sink.h"

namespace sluice::dlq {

class KafkaDeadLetterProducer final : public DeadLetterSink {
 public:
  // `topic`: the dead-letter (or parking) topic. kafka.* settings apply, with
  // enable.idempotence=true and acks=all forced. `clock_ms` supplies the failure
  // time (injected by tests).
  static Result<std::unique_ptr<KafkaDeadLetterProducer>> create(
      const KafkaConfig& kafka, const ErrorsConfig& errors, std::string topic,
      std::function<int64_t()> clock_ms = nullptr);
  ~KafkaDeadLetterProducer() override;

  Status send(const RawRecord& record, const Reject& reject, int attempt) override;
  // kTransient when a record could not be delivered in `timeout` or the broker
  // refused it for a retriable reason; the caller must send the batch's rejects
  // again before retrying. kFatal when the topic can never take the record.
  // On failure, records not yet acknowledged are discarded, so that the retry
  // does not add a second copy of each behind the first; only a record the
  // broker stored without acknowledging it in time can still arrive twice.
  Status flush(std::chrono::milliseconds timeout) override;

  const std::string& topic() const { return topic_; }
  // Records acknowledged by the broker since creation (for metrics).
  uint64_t delivered() const { return delivered_.load(); }

 private:
  class DeliveryReport : public RdKafka::DeliveryReportCb {
   public:
    explicit DeliveryReport(KafkaDeadLetterProducer& owner) : owner_(owner) {}
    void dr_cb(RdKafka::Message& message) override;

   private:
    KafkaDeadLetterProducer& owner_;
  };

  KafkaDeadLetterProducer(std::string topic, bool context_headers, std::function<int64_t()> clock_ms);

  // Drops the records not acknowledged yet (the caller sends them again).
  void discard_unacknowledged();

  std::string topic_;
  bool context_headers_;
  std::function<int64_t()> clock_ms_;
  std::atomic<uint64_t> delivered_{0};
  std::mutex failure_mutex_;
  std::optional<Error> first_failure_;  // since the last flush()
  DeliveryReport delivery_report_{*this};  // outlives producer_
  std::unique_ptr<RdKafka::Producer> producer_;
  // Keeps librdkafka's metadata of the topic, asked for at creation (see create()).
  std::unique_ptr<RdKafka::Topic> topic_handle_;
};

}  // namespace sluice::dlq
