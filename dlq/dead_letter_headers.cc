#include "dead_letter_headers.h"

namespace sluice::dlq {

bool is_dead_letter_header(std::string_view name) {
  return name.starts_with("__connect.errors.") || name.starts_with("sluice.errors.");
}

HeaderList dead_letter_headers(const RawRecord& record, const Reject& reject, const DeadLetterContext& context) {
  HeaderList headers;
  headers.reserve(record.headers.size() + 10);
  for (const RecordHeader& header : record.headers) {
    if (is_dead_letter_header(header.key)) continue;
    headers.emplace_back(std::string(header.key),
                         header.value ? std::optional<std::string>(std::string(*header.value)) : std::nullopt);
  }
  if (!context.context_headers) return headers;
  headers.emplace_back(std::string(kHeaderTopic), context.origin_topic);
  headers.emplace_back(std::string(kHeaderPartition), std::to_string(context.origin_partition));
  headers.emplace_back(std::string(kHeaderOffset), std::to_string(context.origin_offset));
  headers.emplace_back(std::string(kHeaderStage), std::string(to_string(reject.stage)));
  headers.emplace_back(std::string(kHeaderExceptionMessage), reject.message);
  headers.emplace_back(std::string(kHeaderRule), reject.rule);
  headers.emplace_back(std::string(kHeaderTable), reject.table);
  if (!reject.column.empty()) headers.emplace_back(std::string(kHeaderColumn), reject.column);
  headers.emplace_back(std::string(kHeaderTimestamp), std::to_string(context.now_ms));
  headers.emplace_back(std::string(kHeaderAttempt), std::to_string(context.attempt));
  return headers;
}

}  // namespace sluice::dlq
