// DeadLetterSink: where rejected records go. Implementations: dlq
// (KafkaDeadLetterProducer). send() may be called from the pipeline's threads
// one at a time; flush() makes every record sent so far durable.
#pragma once

#include <chrono>

#include "sluice/record.h"
#include "sluice/reject.h"
#include "sluice/result.h"

namespace sluice {

class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;

  // Queues `record` with the reject's context. `attempt` counts deliveries to a
  // dead-letter topic (1 for live processing, +1 per replay that fails again).
  virtual Status send(const RawRecord& record, const Reject& reject, int attempt) = 0;

  // Waits until every queued record is acknowledged (acks=all). kTransient on
  // timeout or broker failure: the caller must not advance offsets.
  virtual Status flush(std::chrono::milliseconds timeout) = 0;
};

}  // namespace sluice
