// DebeziumWorkload: a reproducible stream of Debezium change events for one
// source table (creates, updates, deletes, tombstones and a share of malformed
// records), together with the final table state that applying every valid
// event once must produce. Benchmarks and end-to-end tests use it so that every
// run checks correctness, not only speed.
// Immutable after generate(); safe to read from several threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sluice::workload {

struct WorkloadSpec {
  uint64_t events = 200'000;  // Kafka records in all, tombstones and malformed ones included
  uint64_t keys = 0;          // primary keys are drawn from 1..keys; 0: twice the events
  double creates = 0.6;       // op mix of the valid change events (normalised)
  double updates = 0.3;
  double deletes = 0.1;
  double tombstones = 0.5;  // share of deletes followed by a tombstone, as Debezium does by default
  bool with_schema = true;  // JsonConverter with schemas.enable (about 2.5 KB) or schemaless
  size_t note_bytes = 40;   // width of the `note` text column
  double invalid = 0.02;    // share of malformed records (they change nothing)
  uint64_t seed = 1;
  int partitions = 16;  // key id % partitions keeps each key's events in order
  // Latency runs: every after image carries kStampPlaceholder as created_at,
  // which the producer overwrites with the wall-clock time of produce() in
  // microseconds (see WorkloadRecord::stamp_at). The expected state then holds
  // the placeholder in created_at: compare the other columns.
  bool stamp_created_at = false;
};

// 16 digits, as wide as any microsecond timestamp until the year 2286.
inline constexpr const char* kStampPlaceholder = "1999999999999999";

struct WorkloadRecord {
  std::string key;
  std::optional<std::string> value;  // nullopt: a tombstone
  int32_t partition = 0;
  std::string invalid;  // why the record is malformed; empty for valid records
  // Offset in `value` of the created_at digits of the after image to stamp;
  // npos when the record carries no stamp.
  size_t stamp_at = std::string::npos;
};

class DebeziumWorkload {
 public:
  static DebeziumWorkload generate(const WorkloadSpec& spec);

  const WorkloadSpec& spec() const { return spec_; }
  const std::vector<WorkloadRecord>& records() const { return records_; }

  // Columns of the target table in the order expected_copy_text() writes them.
  static const std::vector<std::string>& column_names();
  // The final rows in PostgreSQL COPY text format, one line per live key.
  // Schemaless records carry amount as decimal text (decimal.handling.mode =
  // string), created_at and updated_on as numbers and score with three
  // decimals, so the rows hold what sluice infers from the JSON.
  const std::string& expected_copy_text() const { return expected_copy_; }
  size_t expected_rows() const { return expected_rows_; }
  uint64_t invalid_records() const { return invalid_records_; }
  uint64_t payload_bytes() const { return payload_bytes_; }
  uint64_t count(char op) const;  // valid change events by op letter ('c', 'u', 'd'); 't' for tombstones

 private:
  WorkloadSpec spec_;
  std::vector<WorkloadRecord> records_;
  std::string expected_copy_;
  size_t expected_rows_ = 0;
  uint64_t invalid_records_ = 0;
  uint64_t payload_bytes_ = 0;
  uint64_t creates_ = 0, updates_ = 0, deletes_ = 0, tombstones_ = 0;
};

}  // namespace sluice::workload
