// Records read back from a topic of the test dev broker with a plain librdkafka
// consumer, for tests that check what sluice or a producer wrote there (dead
// letters above all). Not thread-safe (test thread).
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace sluice::testing {

// A record as read back: key and value (nullopt when null) and its headers
// (a null header value as "").
struct ConsumedRecord {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::map<std::string, std::string> headers;
};

// A consumer subscribed to `topic` of the dev broker, in a new group, from the
// earliest offset.
std::unique_ptr<RdKafka::KafkaConsumer> consumer_from_start(const std::string& topic);

// The key, value and headers of `message`, which holds a record (headers()
// is not const in librdkafka).
ConsumedRecord consumed_record(RdKafka::Message& message);

}  // namespace sluice::testing
