#include "validate/decimal_text.h"

#include <gtest/gtest.h>

#include <limits>

namespace sluice::validate {
namespace {

int cmp(const char* a, const char* b) {
  auto x = DecimalText::parse(a);
  auto y = DecimalText::parse(b);
  EXPECT_TRUE(x.has_value()) << a;
  EXPECT_TRUE(y.has_value()) << b;
  return x->compare(*y);
}

TEST(DecimalText, EqualValuesInDifferentSpellings) {
  EXPECT_EQ(cmp("0.1", "0.10"), 0);
  EXPECT_EQ(cmp("0.1", "1e-1"), 0);
  EXPECT_EQ(cmp("100", "1E2"), 0);
  EXPECT_EQ(cmp("-0", "0.000"), 0);
  EXPECT_EQ(cmp("007.50", "7.5"), 0);
  EXPECT_EQ(cmp("+3", "3"), 0);
}

TEST(DecimalText, OrdersExactlyBeyondDoublePrecision) {
  EXPECT_LT(cmp("12345678901234567890.000000000000000001", "12345678901234567890.000000000000000002"), 0);
  EXPECT_GT(cmp("9223372036854775808", "9223372036854775807"), 0);
  EXPECT_LT(cmp("0.30000000000000000001", "0.3000000000000000001"), 0);
}

TEST(DecimalText, SignsMagnitudesAndZero) {
  EXPECT_LT(cmp("-5", "0"), 0);
  EXPECT_LT(cmp("-5", "-4.99"), 0);
  EXPECT_GT(cmp("-0.001", "-0.01"), 0);
  EXPECT_GT(cmp("0.001", "0"), 0);
  EXPECT_LT(cmp("99.99", "100"), 0);
  EXPECT_GT(cmp("1000", "999.999"), 0);
}

TEST(DecimalText, SpecialValues) {
  EXPECT_LT(cmp("-Infinity", "-1e300"), 0);
  EXPECT_GT(cmp("Infinity", "1e300"), 0);
  EXPECT_GT(cmp("NaN", "Infinity"), 0);
  EXPECT_EQ(cmp("NaN", "nan"), 0);
  EXPECT_FALSE(DecimalText::parse("NaN")->finite());
}

TEST(DecimalText, RejectsWhatIsNotANumber) {
  for (const char* text : {"", "-", ".", "1..2", "1.2.3", "abc", "1e", "1e+", "0x10", " 1", "1 ", "--1", "1e99999999999"}) {
    EXPECT_FALSE(DecimalText::parse(text).has_value()) << text;
  }
}

TEST(DecimalText, IntegerAndFractionDigits) {
  auto d = *DecimalText::parse("-0012.3400");
  EXPECT_EQ(d.integer_digits(), 2);
  EXPECT_EQ(d.fraction_digits(), 2);
  EXPECT_FALSE(d.integral());
  EXPECT_EQ(DecimalText::parse("0.05")->integer_digits(), 0);
  EXPECT_EQ(DecimalText::parse("0.05")->fraction_digits(), 2);
  EXPECT_EQ(DecimalText::parse("1.5e3")->fraction_digits(), 0);
  EXPECT_EQ(DecimalText::parse("1.5e3")->integer_digits(), 4);
  EXPECT_TRUE(DecimalText::parse("10.000")->integral());
  EXPECT_EQ(DecimalText::parse("0")->integer_digits(), 0);
}

TEST(DecimalText, LeastScale) {
  EXPECT_EQ(DecimalText::parse("-0012.3400")->least_scale(), 2);
  EXPECT_EQ(DecimalText::parse("7")->least_scale(), 0);
  EXPECT_EQ(DecimalText::parse("1200")->least_scale(), -2);
  EXPECT_EQ(DecimalText::parse("1200.00")->least_scale(), -2);
  EXPECT_EQ(DecimalText::parse("1.5e3")->least_scale(), -2);
  EXPECT_EQ(DecimalText::parse("0.05")->least_scale(), 2);
  EXPECT_EQ(DecimalText::parse("0")->least_scale(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(DecimalText::parse("NaN")->least_scale(), std::numeric_limits<int64_t>::min());
}

}  // namespace
}  // namespace sluice::validate
