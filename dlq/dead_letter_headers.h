// The headers of a dead-letter record: Kafka Connect's names, so existing
// tooling reads them, plus sluice's own. Part of the user contract; never
// rename. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/record.h"
#include "sluice/reject.h"

namespace sluice::dlq {

inline constexpr std::string_view kHeaderTopic = "__connect.errors.topic";
inline constexpr std::string_view kHeaderPartition = "__connect.errors.partition";
inline constexpr std::string_view kHeaderOffset = "__connect.errors.offset";
inline constexpr std::string_view kHeaderStage = "__connect.errors.stage";
inline constexpr std::string_view kHeaderExceptionMessage = "__connect.errors.exception.message";
inline constexpr std::string_view kHeaderRule = "sluice.errors.rule";
inline constexpr std::string_view kHeaderTable = "sluice.errors.table";
// The offending column, when the reject names one (validators).
inline constexpr std::string_view kHeaderColumn = "sluice.errors.column";
inline constexpr std::string_view kHeaderTimestamp = "sluice.errors.timestamp";
inline constexpr std::string_view kHeaderAttempt = "sluice.errors.attempt";

// True for headers sluice adds; they are replaced, not repeated, when a
// replayed record fails again.
bool is_dead_letter_header(std::string_view name);

using HeaderList = std::vector<std::pair<std::string, std::optional<std::string>>>;

// The full header list of the dead-letter copy of `record`: its own headers
// (earlier error headers dropped), then, when `context_headers`, the error
// context. `now_ms` is the failure time. A record that came back from a
// dead-letter topic keeps its original coordinates in `origin_*`.
struct DeadLetterContext {
  std::string origin_topic;
  int32_t origin_partition = 0;
  int64_t origin_offset = 0;
  int attempt = 1;
  int64_t now_ms = 0;
  bool context_headers = true;
};
HeaderList dead_letter_headers(const RawRecord& record, const Reject& reject, const DeadLetterContext& context);

}  // namespace sluice::dlq
