#include "validate/decimal_text.h"

#include <algorithm>
#include <limits>

namespace sluice::validate {
namespace {

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Exponents beyond this are refused: no column type holds such numbers, and it
// keeps exponent arithmetic far from overflow.
constexpr int64_t kMaxExponent = 1'000'000'000;

}  // namespace

std::optional<DecimalText> DecimalText::parse(std::string_view text) {
  DecimalText out;
  out.text_ = text;
  size_t pos = 0;
  if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    out.negative_ = text[pos] == '-';
    ++pos;
  }
  std::string_view rest = text.substr(pos);
  if (equals_ignoring_case(rest, "nan")) {
    if (pos != 0) return std::nullopt;
    out.kind_ = Kind::kNaN;
    return out;
  }
  if (equals_ignoring_case(rest, "infinity") || equals_ignoring_case(rest, "inf")) {
    out.kind_ = out.negative_ ? Kind::kNegativeInfinity : Kind::kPositiveInfinity;
    return out;
  }

  size_t mantissa_begin = pos;
  size_t point = std::string_view::npos;
  size_t digits = 0;
  while (pos < text.size()) {
    char c = text[pos];
    if (is_digit(c)) {
      ++digits;
    } else if (c == '.' && point == std::string_view::npos) {
      point = pos;
    } else {
      break;
    }
    ++pos;
  }
  if (digits == 0) return std::nullopt;
  size_t mantissa_end = pos;
  int64_t exponent = 0;
  if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
    ++pos;
    bool exponent_negative = false;
    if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
      exponent_negative = text[pos] == '-';
      ++pos;
    }
    if (pos == text.size()) return std::nullopt;
    for (; pos < text.size() && is_digit(text[pos]); ++pos) {
      exponent = exponent * 10 + (text[pos] - '0');
      if (exponent > kMaxExponent) return std::nullopt;
    }
    if (exponent_negative) exponent = -exponent;
  }
  if (pos != text.size()) return std::nullopt;
  if (point == std::string_view::npos) point = mantissa_end;

  size_t first = mantissa_begin;
  while (first < mantissa_end && (text[first] == '0' || text[first] == '.')) ++first;
  if (first == mantissa_end) {  // zero
    out.first_ = out.last_ = 0;
    out.negative_ = false;
    return out;
  }
  size_t last = mantissa_end;
  while (text[last - 1] == '0' || text[last - 1] == '.') --last;
  out.first_ = first;
  out.last_ = last;
  // Digits between the first significant digit and the point give the exponent.
  int64_t position = first < point ? static_cast<int64_t>(point - first) : -static_cast<int64_t>(first - point - 1);
  out.exponent_ = position + exponent;
  return out;
}

int DecimalText::rank() const {
  switch (kind_) {
    case Kind::kNegativeInfinity: return 0;
    case Kind::kFinite: return 1;
    case Kind::kPositiveInfinity: return 2;
    case Kind::kNaN: return 3;
  }
  return 3;
}

size_t DecimalText::significant_digits() const {
  size_t n = 0;
  for (size_t i = first_; i < last_; ++i) n += text_[i] != '.';
  return n;
}

int DecimalText::compare_magnitude(const DecimalText& other) const {
  if (exponent_ != other.exponent_) return exponent_ < other.exponent_ ? -1 : 1;
  size_t a = first_, b = other.first_;
  for (;;) {
    if (a < last_ && text_[a] == '.') ++a;
    if (b < other.last_ && other.text_[b] == '.') ++b;
    bool a_done = a >= last_, b_done = b >= other.last_;
    if (a_done || b_done) return a_done == b_done ? 0 : (a_done ? -1 : 1);
    if (text_[a] != other.text_[b]) return text_[a] < other.text_[b] ? -1 : 1;
    ++a;
    ++b;
  }
}

int DecimalText::compare(const DecimalText& other) const {
  if (rank() != other.rank()) return rank() < other.rank() ? -1 : 1;
  if (!finite()) return 0;
  if (zero() || other.zero()) {
    int self = zero() ? 0 : (negative_ ? -1 : 1);
    int that = other.zero() ? 0 : (other.negative_ ? -1 : 1);
    return self < that ? -1 : (self > that ? 1 : 0);
  }
  if (negative_ != other.negative_) return negative_ ? -1 : 1;
  int magnitude = compare_magnitude(other);
  return negative_ ? -magnitude : magnitude;
}

int64_t DecimalText::integer_digits() const {
  if (!finite() || zero()) return 0;
  return std::max<int64_t>(0, exponent_);
}

int64_t DecimalText::fraction_digits() const {
  if (!finite() || zero()) return 0;
  return std::max<int64_t>(0, static_cast<int64_t>(significant_digits()) - exponent_);
}

int64_t DecimalText::least_scale() const {
  if (!finite() || zero()) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(significant_digits()) - exponent_;
}

}  // namespace sluice::validate
