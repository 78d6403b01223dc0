#include "validate/rule.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::validate {
namespace {

Rule parse(const std::string& text) {
  auto rule = Rule::parse(text);
  EXPECT_TRUE(rule.ok()) << text << ": " << (rule.ok() ? "" : rule.error().message);
  return std::move(*rule);
}

std::string parse_error(const std::string& text) {
  auto rule = Rule::parse(text);
  EXPECT_FALSE(rule.ok()) << text;
  return rule.ok() ? "" : rule.error().message;
}

bool passes(const Rule& rule, std::optional<std::string> value, FieldType type = FieldType::kString) {
  Column column{"c", type};
  Datum datum = value ? Datum::of(*value) : Datum{};
  return !rule.check(&datum, &column).has_value();
}

TEST(Rule, NotNull) {
  Rule rule = parse("not_null");
  EXPECT_TRUE(passes(rule, ""));
  EXPECT_TRUE(passes(rule, "x"));
  EXPECT_FALSE(passes(rule, std::nullopt));
  EXPECT_TRUE(rule.check(nullptr, nullptr).has_value()) << "an absent column is null";
}

TEST(Rule, OtherRulesLetNullPass) {
  for (const char* text : {"min:0", "max:1", "range:1..2", "regex:[a-z]+", "in:a|b", "max_length:1"}) {
    Rule rule = parse(text);
    EXPECT_TRUE(passes(rule, std::nullopt)) << text;
    EXPECT_FALSE(rule.check(nullptr, nullptr).has_value()) << text;
  }
}

TEST(Rule, MinAndMaxAreInclusiveAndExact) {
  Rule min = parse("min:0");
  EXPECT_TRUE(passes(min, "0", FieldType::kInt32));
  EXPECT_TRUE(passes(min, "-0", FieldType::kInt32));
  EXPECT_FALSE(passes(min, "-5", FieldType::kInt32));
  EXPECT_FALSE(passes(min, "-0.0000000000000000000001", FieldType::kVariableDecimal));
  Rule max = parse("max:99.99");
  EXPECT_TRUE(passes(max, "99.99", FieldType::kDecimal));
  EXPECT_TRUE(passes(max, "99.990", FieldType::kDecimal));
  EXPECT_FALSE(passes(max, "99.991", FieldType::kDecimal));
  EXPECT_FALSE(passes(max, "1e2", FieldType::kFloat64));
  EXPECT_FALSE(passes(max, "Infinity", FieldType::kFloat64));
  EXPECT_TRUE(passes(max, "-Infinity", FieldType::kFloat64));
  EXPECT_FALSE(passes(max, "NaN", FieldType::kFloat64));
  EXPECT_FALSE(passes(min, "NaN", FieldType::kFloat64));
}

TEST(Rule, MinOnTextThatIsNotANumberSaysSo) {
  Rule min = parse("min:0");
  Datum value = Datum::of("abc");
  auto why = min.check(&value, nullptr);
  ASSERT_TRUE(why.has_value());
  EXPECT_EQ(*why, " (not a number)");
}

TEST(Rule, RangeBoundsAreInclusive) {
  Rule range = parse("range:-1.5..1e3");
  EXPECT_TRUE(passes(range, "-1.5"));
  EXPECT_TRUE(passes(range, "1000"));
  EXPECT_TRUE(passes(range, "0"));
  EXPECT_FALSE(passes(range, "-1.50001"));
  EXPECT_FALSE(passes(range, "1000.0001"));
  EXPECT_FALSE(passes(range, "NaN"));
}

TEST(Rule, BigIntegersCompareExactly) {
  Rule max = parse("max:9223372036854775807");
  EXPECT_TRUE(passes(max, "9223372036854775807", FieldType::kInt64));
  EXPECT_FALSE(passes(max, "9223372036854775808", FieldType::kVariableDecimal));
}

TEST(Rule, RegexMatchesTheWholeValue) {
  Rule regex = parse("regex:[A-Z]{2}-[0-9]+");
  EXPECT_TRUE(passes(regex, "AB-12"));
  EXPECT_FALSE(passes(regex, "xAB-12"));
  EXPECT_FALSE(passes(regex, "AB-12x"));
  EXPECT_FALSE(passes(regex, ""));
  Rule unicode = parse("regex:\\p{L}+");
  EXPECT_TRUE(passes(unicode, "Zoë"));
  EXPECT_TRUE(passes(unicode, "日本"));
}

TEST(Rule, HostilePatternAndValueRunInLinearTime) {
  // Exponential for backtracking engines; RE2 answers in one pass.
  Rule regex = parse("regex:(a+)+$");
  std::string value(200000, 'a');
  value += "!";
  EXPECT_FALSE(passes(regex, value));
  Rule nested = parse("regex:(x+x+)+y");
  EXPECT_FALSE(passes(nested, std::string(100000, 'x')));
}

TEST(Rule, InComparesTextExactlyAndNumbersAsNumbers) {
  Rule in = parse("in:new|paid|shipped");
  EXPECT_TRUE(passes(in, "paid"));
  EXPECT_FALSE(passes(in, "Paid"));
  EXPECT_FALSE(passes(in, "paid "));
  EXPECT_FALSE(passes(in, ""));
  Rule numbers = parse("in:1.5|2");
  EXPECT_TRUE(passes(numbers, "1.50", FieldType::kDecimal));
  EXPECT_TRUE(passes(numbers, "2.00", FieldType::kDecimal));
  EXPECT_FALSE(passes(numbers, "2.01", FieldType::kDecimal));
  EXPECT_FALSE(passes(numbers, "1.50", FieldType::kString)) << "text columns compare text";
  Rule empty_choice = parse("in:a|");
  EXPECT_TRUE(passes(empty_choice, ""));
}

TEST(Rule, MaxLengthCountsCharactersNotBytes) {
  Rule rule = parse("max_length:3");
  EXPECT_TRUE(passes(rule, ""));
  EXPECT_TRUE(passes(rule, "abc"));
  EXPECT_TRUE(passes(rule, "日本語"));  // 9 bytes, 3 characters
  EXPECT_TRUE(passes(rule, "e\xCC\x81" "a"));  // 'e' + combining accent + 'a': 3 code points
  EXPECT_FALSE(passes(rule, "e\xCC\x81" "ab"));
  EXPECT_FALSE(passes(rule, "abcd"));
  EXPECT_TRUE(passes(rule, "😀😀😀"));
  EXPECT_FALSE(passes(rule, "😀😀😀😀"));
  Datum value = Datum::of("abcd");
  EXPECT_EQ(*rule.check(&value, nullptr), " (4 characters)");
  Column bytes{"b", FieldType::kBytes};
  Datum raw = Datum::of("\xE6\x97\xA5");  // one character, but bytea counts bytes
  EXPECT_FALSE(rule.check(&raw, &bytes).has_value());
  Datum four = Datum::of("\xE6\x97\xA5\x01");
  EXPECT_EQ(*rule.check(&four, &bytes), " (4 bytes)");
}

TEST(Rule, ConfigurationErrors) {
  EXPECT_NE(parse_error("regex:(unclosed").find("invalid pattern"), std::string::npos);
  EXPECT_NE(parse_error("min:abc").find("'abc' is not a number"), std::string::npos);
  EXPECT_NE(parse_error("min:NaN").find("not a number"), std::string::npos);
  EXPECT_NE(parse_error("range:5..1").find("lower bound is above"), std::string::npos);
  EXPECT_NE(parse_error("range:5").find("range:LOW..HIGH"), std::string::npos);
  EXPECT_NE(parse_error("max_length:-1").find("non-negative integer"), std::string::npos);
  EXPECT_NE(parse_error("max_length:x").find("non-negative integer"), std::string::npos);
  EXPECT_NE(parse_error("notnull").find("unknown rule"), std::string::npos);
  EXPECT_NE(parse_error("between:1..2").find("unknown rule"), std::string::npos);
  EXPECT_NE(parse_error("regex:").find("empty pattern"), std::string::npos);
  EXPECT_NE(parse_error("not_null:1").find("no argument"), std::string::npos);
}

TEST(Rule, SplitKeepsCommasInsidePatternsAndChoices) {
  EXPECT_EQ(split_rules("not_null, min:0,max:10"), (std::vector<std::string>{"not_null", "min:0", "max:10"}));
  EXPECT_EQ(split_rules("regex:^[a-z]{1,3}$, not_null"),
            (std::vector<std::string>{"regex:^[a-z]{1,3}$", "not_null"}));
  EXPECT_EQ(split_rules("in:a,b|c, max_length:3"), (std::vector<std::string>{"in:a,b|c", "max_length:3"}));
  EXPECT_EQ(split_rules(" , "), std::vector<std::string>{});
  EXPECT_EQ(split_rules("min:0, "), std::vector<std::string>{"min:0"});
  EXPECT_EQ(split_rules("regex:a,,b"), std::vector<std::string>{"regex:a,,b"});
}

}  // namespace
}  // namespace sluice::validate
