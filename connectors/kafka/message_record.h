// The RawRecord view of a librdkafka message: key, value, headers and topic
// point into the message, which the record's owner keeps alive, so records
// are never copied on the hot path. Thread-safe (no shared state).
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <memory>

#include "sluice/record.h"

namespace sluice::kafka {

// `message` must hold a record (err() == ERR_NO_ERROR).
RawRecord raw_record_of(std::shared_ptr<RdKafka::Message> message);

}  // namespace sluice::kafka
