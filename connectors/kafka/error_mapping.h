// The one place where librdkafka error codes become sluice error classes:
// retriable infrastructure trouble (transient), a record Kafka refuses
// (record), or a condition that must stop the service (fatal).
// Pure functions; thread-safe.
#pragma once

#include <string>

#include "sluice/error.h"

namespace sluice::kafka {

// Class of librdkafka error `code` (an rd_kafka_resp_err_t value).
ErrorClass classify_kafka_error(int code);

// An Error for `code` with librdkafka's description, prefixed by `context`
// ("producing to sluice.dlq").
Error kafka_error(int code, const std::string& context);

}  // namespace sluice::kafka
