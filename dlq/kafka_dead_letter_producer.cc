#include "kafka_dead_letter_producer.h"

#include <chrono>
#include <set>
#include <thread>

#include "connectors/kafka/error_mapping.h"
#include "core/logging.h"
#include "dead_letter_headers.h"

namespace sluice::dlq {
namespace {

// Consumer-only librdkafka properties, not passed to the producer (librdkafka
// would warn about each of them).
const std::set<std::string>& consumer_only_properties() {
  static const std::set<std::string> properties = {
      "group.id", "group.instance.id", "auto.offset.reset", "enable.auto.commit", "auto.commit.interval.ms",
      "enable.auto.offset.store", "partition.assignment.strategy", "session.timeout.ms", "heartbeat.interval.ms",
      "max.poll.interval.ms", "fetch.min.bytes", "fetch.max.bytes", "fetch.wait.max.ms", "max.partition.fetch.bytes",
      "isolation.level", "enable.partition.eof", "check.crcs", "queued.min.messages", "queued.max.messages.kbytes",
      "fetch.message.max.bytes", "group.protocol.type", "coordinator.query.interval.ms"};
  return properties;
}

// The record's original coordinates: its own, or, for a record replayed from
// a dead-letter topic, those of its lineage. Headers a record arrives with are
// never trusted for this: anyone can write them.
struct Origin {
  std::string topic;
  int32_t partition;
  int64_t offset;
};

Origin origin_of(const RawRecord& record) {
  if (record.lineage) return Origin{record.lineage->topic, record.lineage->partition.value, record.lineage->offset.value};
  return Origin{std::string(record.topic), record.partition.value, record.offset.value};
}

int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

KafkaDeadLetterProducer::KafkaDeadLetterProducer(std::string topic, bool context_headers,
                                                 std::function<int64_t()> clock_ms)
    : topic_(std::move(topic)), context_headers_(context_headers), clock_ms_(std::move(clock_ms)) {}

KafkaDeadLetterProducer::~KafkaDeadLetterProducer() {
  // Best effort: whatever flush() did not confirm was not counted as durable.
  if (producer_) producer_->flush(1000);
}

Result<std::unique_ptr<KafkaDeadLetterProducer>> KafkaDeadLetterProducer::create(
    const KafkaConfig& kafka, const ErrorsConfig& errors, std::string topic, std::function<int64_t()> clock_ms) {
  auto log = logging::get("dlq");
  std::unique_ptr<KafkaDeadLetterProducer> producer(new KafkaDeadLetterProducer(
      std::move(topic), errors.context_headers, clock_ms ? std::move(clock_ms) : system_now_ms));
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  std::map<std::string, std::string> settings;
  for (const auto& [key, value] : kafka.properties) {
    if (!consumer_only_properties().contains(key)) settings[key] = value;
  }
  // Bounded delivery time: an outage surfaces as a transient flush failure
  // that the pipeline retries, instead of a flush blocked for minutes.
  settings.try_emplace("message.timeout.ms", "30000");
  settings.try_emplace("linger.ms", "5");
  for (const auto& [key, forced] : {std::pair<std::string, std::string>{"enable.idempotence", "true"}, {"acks", "all"}}) {
    auto it = settings.find(key);
    if (it != settings.end() && it->second != forced) {
      log->warn("kafka.{} = {} overridden to {} for the dead-letter producer", key, it->second, forced);
    }
    settings[key] = forced;
  }
  for (const auto& [key, value] : settings) {
    if (conf->set(key, value, error) != RdKafka::Conf::CONF_OK) {
      return Error::fatal("bad_configuration", "kafka." + key + ": " + error);
    }
  }
  if (conf->set("dr_cb", &producer->delivery_report_, error) != RdKafka::Conf::CONF_OK) {
    return Error::fatal("kafka_setup", "cannot set the delivery callback: " + error);
  }
  producer->producer_.reset(RdKafka::Producer::create(conf.get(), error));
  if (!producer->producer_) return Error::fatal("kafka_setup", "cannot create the dead-letter producer: " + error);
  // Learn the topic's partitions now. Otherwise the first reject waits for
  // them, and librdkafka 2.0 then leaves the record queued until its idle
  // broker thread wakes up on its own, up to a second later, and the batch
  // waits with it. Best effort: a broker not reachable yet is retried by produce().
  producer->topic_handle_.reset(RdKafka::Topic::create(producer->producer_.get(), producer->topic_, nullptr, error));
  if (producer->topic_handle_) {
    RdKafka::Metadata* raw_metadata = nullptr;
    RdKafka::ErrorCode code = producer->producer_->metadata(false, producer->topic_handle_.get(), &raw_metadata, 2000);
    std::unique_ptr<RdKafka::Metadata> metadata(raw_metadata);
    if (code != RdKafka::ERR_NO_ERROR) {
      log->debug("no metadata of dead-letter topic {} yet: {}", producer->topic_, RdKafka::err2str(code));
    }
  }
  return producer;
}

void KafkaDeadLetterProducer::DeliveryReport::dr_cb(RdKafka::Message& message) {
  if (message.err() == RdKafka::ERR_NO_ERROR) {
    owner_.delivered_.fetch_add(1);
    return;
  }
  // Discarded by discard_unacknowledged() after a failure already reported.
  if (message.err() == RdKafka::ERR__PURGE_QUEUE || message.err() == RdKafka::ERR__PURGE_INFLIGHT) return;
  std::lock_guard lock(owner_.failure_mutex_);
  if (!owner_.first_failure_) {
    owner_.first_failure_ = kafka::kafka_error(message.err(), "delivering to dead-letter topic " + owner_.topic_);
  }
}

Status KafkaDeadLetterProducer::send(const RawRecord& record, const Reject& reject, int attempt) {
  Origin origin = origin_of(record);
  HeaderList headers = dead_letter_headers(
      record, reject, {origin.topic, origin.partition, origin.offset, attempt, clock_ms_(), context_headers_});
  for (int tries = 0;; ++tries) {
    std::unique_ptr<RdKafka::Headers> kafka_headers(RdKafka::Headers::create());
    for (const auto& [key, value] : headers) {
      if (value) {
        kafka_headers->add(key, value->data(), value->size());
      } else {
        kafka_headers->add(key, nullptr, 0);
      }
    }
    RdKafka::ErrorCode code = producer_->produce(
        topic_, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        record.value ? const_cast<char*>(record.value->data()) : nullptr, record.value ? record.value->size() : 0,
        record.key ? record.key->data() : nullptr, record.key ? record.key->size() : 0, record.timestamp_ms,
        kafka_headers.get(), nullptr);
    if (code == RdKafka::ERR_NO_ERROR) {
      kafka_headers.release();  // librdkafka owns the headers once produce() succeeds
      return {};
    }
    if (code == RdKafka::ERR__QUEUE_FULL && tries < 100) {
      producer_->poll(100);
      continue;
    }
    discard_unacknowledged();
    return kafka::kafka_error(code, "queueing a record for dead-letter topic " + topic_);
  }
}

void KafkaDeadLetterProducer::discard_unacknowledged() {
  // In-flight records too: librdkafka would otherwise retry them by itself and
  // deliver them next to the copies the caller sends again. One the broker
  // stored before the failure is lost to neither: it arrives twice.
  producer_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
  producer_->poll(0);  // serves the delivery reports of the discarded records
}

Status KafkaDeadLetterProducer::flush(std::chrono::milliseconds timeout) {
  RdKafka::ErrorCode code = producer_->flush(static_cast<int>(timeout.count()));
  std::optional<Error> failure;
  {
    std::lock_guard lock(failure_mutex_);
    failure.swap(first_failure_);
  }
  if (failure || code != RdKafka::ERR_NO_ERROR) discard_unacknowledged();
  if (failure) {
    // A dead-letter record that can never be written cannot be dropped either.
    if (failure->error_class == ErrorClass::kRecord) failure->error_class = ErrorClass::kFatal;
    return std::move(*failure);
  }
  if (code != RdKafka::ERR_NO_ERROR) {
    return kafka::kafka_error(code, "flushing dead-letter topic " + topic_ + " (" +
                                        std::to_string(producer_->outq_len()) + " records outstanding)");
  }
  return {};
}

}  // namespace sluice::dlq
