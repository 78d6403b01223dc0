// Exact comparison of numbers written as text (integers, decimals with any
// number of digits, exponent forms, NaN and infinities), without converting to
// binary floating point: "0.1" equals "0.10" and "1e-1", and a decimal(38,10)
// compares exactly. Views into the caller's text; plain value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice::validate {

class DecimalText {
 public:
  enum class Kind : uint8_t { kFinite, kNaN, kPositiveInfinity, kNegativeInfinity };

  // nullopt when `text` is not a number: [+-]digits[.digits][(e|E)[+-]digits],
  // "NaN", "Infinity", "-Infinity" (also "inf"/"-inf", any case).
  static std::optional<DecimalText> parse(std::string_view text);

  Kind kind() const { return kind_; }
  bool finite() const { return kind_ == Kind::kFinite; }
  bool zero() const { return finite() && first_ == last_; }
  bool negative() const { return negative_; }

  // Three-way comparison; NaN sorts above +Infinity (as in PostgreSQL) so that
  // it violates every max and satisfies no range.
  int compare(const DecimalText& other) const;

  // Digits before the decimal point, without leading zeros (0 for |x| < 1).
  int64_t integer_digits() const;
  // Digits after the decimal point up to the last non-zero one.
  int64_t fraction_digits() const;
  // The smallest numeric scale that holds the value exactly: its fraction
  // digits, or minus its trailing integer zeros when it has none (1200 -> -2).
  // Zero and non-finite values fit any scale: INT64_MIN.
  int64_t least_scale() const;
  // Whether the value has no non-zero fraction digit.
  bool integral() const { return fraction_digits() == 0; }

 private:
  int rank() const;  // -Inf < finite < +Inf < NaN
  int compare_magnitude(const DecimalText& other) const;
  size_t significant_digits() const;

  Kind kind_ = Kind::kFinite;
  bool negative_ = false;
  // The value is 0.d1 d2 ... dn x 10^exponent_ with d1 != 0 and dn != 0; the
  // digits are text_[first_, last_) with any '.' skipped. Zero: first_ == last_.
  std::string_view text_;
  size_t first_ = 0;
  size_t last_ = 0;
  int64_t exponent_ = 0;
};

}  // namespace sluice::validate
