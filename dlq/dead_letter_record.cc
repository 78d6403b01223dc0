#include "dlq/dead_letter_record.h"

#include <charconv>

#include "dlq/dead_letter_headers.h"

namespace sluice::dlq {
namespace {

template <typename Int>
std::optional<Int> parse_integer(std::string_view text) {
  Int value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

DeadLetterRecord read_dead_letter(const RawRecord& record) {
  DeadLetterRecord info;
  info.dlq_topic = std::string(record.topic);
  info.dlq_partition = record.partition;
  info.dlq_offset = record.offset;
  info.record_timestamp_ms = record.timestamp_ms;
  bool has_topic = false, has_partition = false, has_offset = false;
  for (const RecordHeader& header : record.headers) {
    if (!header.value) continue;
    std::string_view value = *header.value;
    if (header.key == kHeaderTopic) {
      info.topic = std::string(value);
      has_topic = !value.empty();
    } else if (header.key == kHeaderPartition) {
      if (auto partition = parse_integer<int32_t>(value); partition && *partition >= 0) {
        info.partition = Partition{*partition};
        has_partition = true;
      }
    } else if (header.key == kHeaderOffset) {
      if (auto offset = parse_integer<int64_t>(value); offset && *offset >= 0) {
        info.offset = Offset{*offset};
        has_offset = true;
      }
    } else if (header.key == kHeaderStage) {
      info.stage = std::string(value);
    } else if (header.key == kHeaderRule) {
      info.rule = std::string(value);
    } else if (header.key == kHeaderTable) {
      info.table = std::string(value);
    } else if (header.key == kHeaderColumn) {
      info.column = std::string(value);
    } else if (header.key == kHeaderExceptionMessage) {
      info.message = std::string(value);
    } else if (header.key == kHeaderTimestamp) {
      info.failed_ms = parse_integer<int64_t>(value);
    } else if (header.key == kHeaderAttempt) {
      if (auto attempt = parse_integer<int>(value); attempt && *attempt >= 1) info.attempt = *attempt;
    }
  }
  info.has_origin = has_topic && has_partition && has_offset;
  return info;
}

Result<RawRecord> replay_record(const RawRecord& record, const DeadLetterRecord& info) {
  if (!info.has_origin) {
    return Error::record("missing_lineage",
                         "dead-letter record " + info.dlq_topic + "[" + std::to_string(info.dlq_partition.value) +
                             "]@" + std::to_string(info.dlq_offset.value) +
                             " has no valid __connect.errors.topic/partition/offset headers (written with "
                             "errors.deadletterqueue.context.headers.enable = false?), so it cannot be replayed");
  }
  RawRecord out = record;  // shares the consumed message's bytes
  std::erase_if(out.headers, [](const RecordHeader& header) { return is_dead_letter_header(header.key); });
  out.lineage = std::make_shared<const Lineage>(Lineage{info.topic, info.partition, info.offset, info.attempt});
  return out;
}

bool matches(const ReplayFilters& filters, const DeadLetterRecord& info) {
  if (!filters.stage.empty() && info.stage != filters.stage) return false;
  if (!filters.reason_contains.empty() && info.rule.find(filters.reason_contains) == std::string::npos &&
      info.message.find(filters.reason_contains) == std::string::npos) {
    return false;
  }
  if (!filters.source_topic.empty() && info.topic != filters.source_topic) return false;
  if (!filters.table.empty() && info.table != filters.table) return false;
  if (filters.since_ms && info.record_timestamp_ms < *filters.since_ms) return false;
  if (filters.until_ms && info.record_timestamp_ms >= *filters.until_ms) return false;
  if (filters.failed_since_ms && (!info.failed_ms || *info.failed_ms < *filters.failed_since_ms)) return false;
  if (filters.failed_until_ms && (!info.failed_ms || *info.failed_ms >= *filters.failed_until_ms)) return false;
  return true;
}

}  // namespace sluice::dlq
