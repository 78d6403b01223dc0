// DeadLetterStats: the summary `sluice dlq stats` prints: counts by stage,
// reason, source topic and table, the oldest and newest failure and original
// record, and a few sample messages per reason. Fed one record at a time; not
// thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dlq/dead_letter_record.h"

namespace sluice::dlq {

class DeadLetterStats {
 public:
  static constexpr size_t kSamplesPerReason = 3;

  void add(const DeadLetterRecord& record);

  int64_t total() const { return total_; }
  const std::map<std::string, int64_t>& by_stage() const { return by_stage_; }
  const std::map<std::string, int64_t>& by_reason() const { return by_reason_; }
  const std::map<std::string, int64_t>& by_topic() const { return by_topic_; }
  const std::map<std::string, int64_t>& by_table() const { return by_table_; }

  // A terminal-friendly report of `topic`.
  std::string text(const std::string& topic) const;
  // The same as one JSON object.
  std::string json(const std::string& topic) const;

 private:
  struct Sample {
    std::string coordinates;  // original topic[partition]@offset
    std::string message;
  };

  int64_t total_ = 0;
  int64_t without_lineage_ = 0;  // records missing their original coordinates
  int64_t retried_ = 0;          // attempt > 1: failed again after a replay
  std::map<std::string, int64_t> by_stage_, by_reason_, by_topic_, by_table_;
  std::map<std::string, std::vector<Sample>> samples_;  // by reason
  std::optional<int64_t> oldest_failure_ms_, newest_failure_ms_;
  std::optional<int64_t> oldest_record_ms_, newest_record_ms_;
};

// "2026-12-01T10:00:00.250Z" for milliseconds since the epoch.
std::string iso_time(int64_t ms);

}  // namespace sluice::dlq
