#include "connectors/kafka/message_record.h"

#include <librdkafka/rdkafka.h>

#include <utility>

namespace sluice::kafka {
namespace {

// Fills record.headers with views into the message's own header storage.
void attach_headers(RdKafka::Message& message, RawRecord& record) {
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(message.c_ptr(), &headers) != RD_KAFKA_RESP_ERR_NO_ERROR || headers == nullptr) return;
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
    RecordHeader header{name, std::nullopt};
    if (value != nullptr) header.value = std::string_view(static_cast<const char*>(value), size);
    record.headers.push_back(header);
  }
}

}  // namespace

RawRecord raw_record_of(std::shared_ptr<RdKafka::Message> message) {
  RawRecord record;
  record.partition = Partition{message->partition()};
  record.offset = Offset{message->offset()};
  record.timestamp_ms = message->timestamp().timestamp;
  if (message->key_pointer() != nullptr) {
    record.key = std::string_view(static_cast<const char*>(message->key_pointer()), message->key_len());
  }
  if (message->payload() != nullptr) {
    record.value = std::string_view(static_cast<const char*>(message->payload()), message->len());
  }
  attach_headers(*message, record);
  // The message holds a reference on its topic handle, so the name stays valid
  // as long as the message (topic_name() would copy it into a std::string).
  record.topic = rd_kafka_topic_name(message->c_ptr()->rkt);
  record.owner = std::move(message);
  return record;
}

}  // namespace sluice::kafka
