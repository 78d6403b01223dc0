// BinaryCopyWriter: builds the body of a `COPY ... FROM STDIN (FORMAT binary)`
// for columns of the common PostgreSQL types, so the server does not parse
// every value's text (most of the cost of COPY for numbers, times and uuids).
// Values arrive in the change event's canonical text form and are encoded
// exactly as the type's input function would read them. A value in any other
// spelling (an exponent, a 'T' between date and time, a BC year, 'now', ...)
// is not guessed at: the writer refuses the row, and the caller writes it and
// the rest as text COPY, for PostgreSQL to read or refuse itself. Typmods
// (numeric(p,s), varchar(n), timestamp(p)) are applied by the server's binary
// input functions as by the text ones. Not thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sinks/postgres/copy_writer.h"

namespace sluice::pg {

enum class BinaryType {
  kText,  // text, varchar, json
  kJsonb,
  kBytea,
  kBool,
  kInt2,
  kInt4,
  kInt8,
  kFloat4,
  kFloat8,
  kNumeric,
  kDate,
  kTime,
  kTimestamp,
  kTimestampTz,
  kUuid,
};

// The binary encoding for a column of `type` (format_type() text, such as
// "numeric(12,2)" or "timestamp with time zone"); nullopt when not supported.
std::optional<BinaryType> binary_type_of(std::string_view type);

// Appends the binary form of `text` as a value of `type` to `out`; false (and
// `out` unchanged) when `text` is not in the canonical form encoded here.
bool append_binary(BinaryType type, std::string_view text, std::string& out);

class BinaryCopyWriter final : public CopyValueWriter {
 public:
  // `columns`: the type of each column of a row, in COPY order.
  explicit BinaryCopyWriter(std::vector<BinaryType> columns);

  void text(std::string_view value) override;
  // Raw bytes; only for bytea columns.
  void bytes(std::string_view value) override;
  // Hex digits as a text value.
  void hex(std::string_view value) override;
  void null() override;
  // Ends the row. False when a value of it could not be encoded: the row is
  // taken back out, and the caller must write it another way.
  bool end_row();
  // Appends the trailer; the data is complete.
  void finish();

  // The COPY data so far (the header first); clear() once it is sent.
  const std::string& data() const { return data_; }
  void clear() {
    data_.clear();
    row_start_ = 0;
  }

 private:
  void begin_field(size_t length);

  std::vector<BinaryType> columns_;
  std::string data_;
  size_t row_start_ = 0;
  size_t column_ = 0;  // of the current row
  bool row_failed_ = false;
};

}  // namespace sluice::pg
