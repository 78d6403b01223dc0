// Names of the headers sluice adds to dead-letter records: Kafka Connect's
// names, so existing tooling reads them, plus sluice's own. Part of the user
// contract; never rename.
#pragma once

#include <string_view>

namespace sluice::dlq {

inline constexpr std::string_view kHeaderTopic = "__connect.errors.topic";
inline constexpr std::string_view kHeaderPartition = "__connect.errors.partition";
inline constexpr std::string_view kHeaderOffset = "__connect.errors.offset";
inline constexpr std::string_view kHeaderStage = "__connect.errors.stage";
inline constexpr std::string_view kHeaderExceptionMessage = "__connect.errors.exception.message";
inline constexpr std::string_view kHeaderRule = "sluice.errors.rule";
inline constexpr std::string_view kHeaderTable = "sluice.errors.table";
inline constexpr std::string_view kHeaderTimestamp = "sluice.errors.timestamp";
inline constexpr std::string_view kHeaderAttempt = "sluice.errors.attempt";

// True for headers sluice adds (stripped before a replayed record is re-dead-lettered).
bool is_dead_letter_header(std::string_view name);

}  // namespace sluice::dlq
