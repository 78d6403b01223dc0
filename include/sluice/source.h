// Source: where raw records come from, as a member of a group that shares
// partitions. Implementations: connectors/kafka (KafkaSource). A Source is
// driven by one thread: poll() and the PartitionListener callbacks run on it,
// and so do the other calls unless stated.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "sluice/batch.h"
#include "sluice/record.h"
#include "sluice/result.h"

namespace sluice {

// An on_assigned() offset: read the partition from its first offset still held.
inline constexpr Offset kFromBeginning{-2};

// What the pipeline does when partitions come and go; called from inside poll().
class PartitionListener {
 public:
  virtual ~PartitionListener() = default;
  // Next offsets to read for newly assigned `partitions`, as stored with the
  // rows, or kFromBeginning. Absent partitions fall back to the group's
  // committed offset, then auto.offset.reset. An error makes the source ask
  // again after a pause.
  virtual Result<std::map<TopicPartition, Offset>> on_assigned(const std::vector<TopicPartition>& partitions) = 0;
  // `partitions` are being taken away. When this returns, work for them must be
  // committed or abandoned. `lost`: another member may already own them.
  virtual void on_revoked(const std::vector<TopicPartition>& partitions, bool lost) = 0;
};

struct Watermarks {
  Offset low;   // first offset still held
  Offset high;  // next offset to be written (the end)
};

class Source {
 public:
  virtual ~Source() = default;

  // Up to `max_records` records, in per-partition order, waiting at most `timeout`
  // for the first one. Transient trouble yields an empty result (and is logged);
  // errors are fatal.
  virtual Result<std::vector<RawRecord>> poll(size_t max_records, std::chrono::milliseconds timeout) = 0;

  // Records in the source's own bookkeeping (the consumer group) that the
  // offsets were stored by the sink. Informational: the sink's copy is the
  // truth. Offsets of partitions no longer assigned are ignored.
  virtual Status commit(const std::vector<PartitionOffset>& offsets) = 0;

  // Backpressure: stop or restart fetching every assigned partition.
  virtual void pause_all() = 0;
  virtual void resume_all() = 0;

  virtual std::vector<TopicPartition> assignment() const = 0;
  // Low and high watermarks of `partitions`. May answer from what the last
  // fetch responses reported (at most a fetch wait old) and asks the broker,
  // waiting up to `timeout`, only for partitions it has not fetched yet.
  // A zero `timeout` never asks the broker: partitions not fetched yet are
  // left out of the answer (the metrics use this; they must not block).
  virtual Result<std::map<TopicPartition, Watermarks>> watermarks(const std::vector<TopicPartition>& partitions,
                                                                  std::chrono::milliseconds timeout) = 0;
  // Where assigned partition `tp` stands once the source reached its end since
  // the assignment: past every record delivered and past offsets that hold no
  // record for the application (transaction markers); the first record not
  // yet delivered while it holds some; nullopt before the end was reached.
  // Between polls, with every record delivered so far stored or on its way,
  // what counts as drained: the stored offsets cover records only.
  virtual std::optional<Offset> next_offset(const TopicPartition& tp) = 0;
  // The partitions of the subscribed topics not assigned to this member
  // (held by other members, or by none until the next rebalance), with their
  // watermarks as the broker reports them now (waiting up to `timeout`).
  // Empty, without asking the broker, when this member holds them all. What
  // a member checks before it calls the group's work done.
  virtual Result<std::map<TopicPartition, Watermarks>> watermarks_elsewhere(std::chrono::milliseconds timeout) = 0;
  // Leaves the group, revoking everything through the listener. Idempotent.
  virtual Status close() = 0;
};

}  // namespace sluice
