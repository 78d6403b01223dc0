// DevBroker: librdkafka's in-memory Kafka-protocol mock cluster, listening on
// loopback, for development, tests and the quick start. Not a real broker: it
// keeps only about 5 MB per partition, has no persistence and no security.
// Fault controls (broker down/up, injected request errors) serve the
// robustness tests. Methods are safe to call from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "sluice/result.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;

namespace sluice::kafka {

class DevBroker {
 public:
  // Starts a cluster of `broker_count` brokers.
  static Result<std::unique_ptr<DevBroker>> start(int broker_count);
  ~DevBroker();
  DevBroker(const DevBroker&) = delete;
  DevBroker& operator=(const DevBroker&) = delete;

  // "127.0.0.1:port,..." for bootstrap.servers.
  std::string bootstrap_servers() const;

  Status create_topic(const std::string& topic, int partitions);
  // Takes broker `broker_id` (1-based; -1 = all) off the network, or back.
  Status set_broker_down(int32_t broker_id, bool down);
  // The next `count` requests of Kafka API `api_key` (0 = Produce, 1 = Fetch, ...)
  // fail with Kafka error code `error_code`.
  void push_request_errors(int16_t api_key, int error_code, int count);
  // Forgets the errors still pushed for Kafka API `api_key`: its requests succeed again.
  void clear_request_errors(int16_t api_key);
  // Every request touching `topic` fails with `error_code` (0 clears).
  void set_topic_error(const std::string& topic, int error_code);

 private:
  struct KafkaHandleDeleter {
    void operator()(rd_kafka_t* handle) const;
  };
  DevBroker() = default;

  std::unique_ptr<rd_kafka_t, KafkaHandleDeleter> handle_;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;  // owned; destroyed before handle_
};

}  // namespace sluice::kafka
