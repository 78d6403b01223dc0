// CopyWriter: builds the body of a `COPY ... FROM STDIN` in PostgreSQL's text
// format, escaping every value, so rows travel in bulk instead of one statement
// per row. Also converts the change event's canonical forms that PostgreSQL
// does not read as they are (raw bytes, JSON arrays). Not thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice::pg {

// Where the sink writes the values of one COPY row: text or binary format.
class CopyValueWriter {
 public:
  // A value in its text form.
  virtual void text(std::string_view value) = 0;
  // Raw bytes (for bytea).
  virtual void bytes(std::string_view value) = 0;
  // Raw bytes as plain hex digits, the text form PostGIS reads as EWKB.
  virtual void hex(std::string_view value) = 0;
  virtual void null() = 0;

 protected:
  ~CopyValueWriter() = default;
};

class CopyWriter final : public CopyValueWriter {
 public:
  // Appends a text value, escaping backslash, tab, newline and carriage return.
  void text(std::string_view value) override;
  // Appends raw bytes as a bytea hex literal (\\x0a0b...).
  void bytes(std::string_view value) override;
  void hex(std::string_view value) override;
  // Appends SQL NULL (\N).
  void null() override;
  // Ends the current row.
  void end_row();

  const std::string& data() const { return data_; }
  size_t rows() const { return rows_; }
  void clear() {
    data_.clear();
    rows_ = 0;
    first_in_row_ = true;
  }

 private:
  void separator();

  std::string data_;
  size_t rows_ = 0;
  bool first_in_row_ = true;
};

// Converts JSON array text ("[1,[2,null],\"a\"]") to a PostgreSQL array literal
// ("{1,{2,NULL},\"a\"}"). Objects become quoted JSON text elements. nullopt
// when `json` is not a well-formed JSON array.
std::optional<std::string> pg_array_literal_from_json(std::string_view json);

}  // namespace sluice::pg
