#include "decode/logical_types.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace sluice {
namespace {

std::string date(int64_t days) {
  std::string out;
  format_date(days, out);
  return out;
}

std::string timestamp(int64_t value, int64_t units) {
  std::string out;
  format_timestamp(value, units, out);
  return out;
}

std::string decimal(std::string bytes, int32_t scale) {
  std::string out;
  decimal_from_unscaled(bytes, scale, out);
  return out;
}

TEST(LogicalTypes, Dates) {
  EXPECT_EQ(date(0), "1970-01-01");
  EXPECT_EQ(date(-1), "1969-12-31");
  EXPECT_EQ(date(19782), "2024-02-29");
  EXPECT_EQ(date(-719162), "0001-01-01");
  EXPECT_EQ(date(-719163), "0001-12-31 BC");
  // 15 March 44 BC (proleptic Gregorian) is astronomical year -43.
  EXPECT_EQ(date(-735160), "0044-03-15 BC");
}

TEST(LogicalTypes, Timestamps) {
  EXPECT_EQ(timestamp(0, 1000), "1970-01-01 00:00:00");
  EXPECT_EQ(timestamp(-1, 1000), "1969-12-31 23:59:59.999");
  EXPECT_EQ(timestamp(-1, 1000000), "1969-12-31 23:59:59.999999");
  EXPECT_EQ(timestamp(1709214300123456, 1000000), "2024-02-29 13:45:00.123456");
  EXPECT_EQ(timestamp(1709214300120000, 1000000), "2024-02-29 13:45:00.12");
  EXPECT_EQ(timestamp(1709214300000000001, 1000000000), "2024-02-29 13:45:00.000000001");
  EXPECT_EQ(timestamp(9223372036825200000, 1000000), "infinity");
  EXPECT_EQ(timestamp(-9223372036832400000, 1000000), "-infinity");
}

TEST(LogicalTypes, Times) {
  std::string out;
  EXPECT_TRUE(format_time(49500123456, 1000000, 6, out));
  EXPECT_EQ(out, "13:45:00.123456");
  out.clear();
  EXPECT_TRUE(format_time(49500123, 1000, 6, out));
  EXPECT_EQ(out, "13:45:00.123000");
  out.clear();
  EXPECT_TRUE(format_time(49500123456789, 1000000000, 9, out));
  EXPECT_EQ(out, "13:45:00.123456789");
  out.clear();
  EXPECT_FALSE(format_time(-1, 1000, 6, out));
}

TEST(LogicalTypes, Decimals) {
  EXPECT_EQ(decimal("", 2), "0.00");
  EXPECT_EQ(decimal(std::string("\x04\xd2", 2), 2), "12.34");
  EXPECT_EQ(decimal(std::string("\xfb\x2e", 2), 3), "-1.234");
  EXPECT_EQ(decimal(std::string("\x01", 1), 5), "0.00001");
  EXPECT_EQ(decimal(std::string("\xff", 1), 0), "-1");
  EXPECT_EQ(decimal(std::string("\x7f\xff\xff\xff\xff\xff\xff\xff\xff", 9), 0), "2361183241434822606847");
  EXPECT_EQ(decimal(std::string("\x80\x00\x00\x00\x00\x00\x00\x00", 8), 0), "-9223372036854775808");
  EXPECT_EQ(decimal(std::string("\x05", 1), -2), "500");
  std::string out;
  EXPECT_TRUE(decimal_from_text("12.3", 3, out));
  EXPECT_EQ(out, "12.300");
  out.clear();
  EXPECT_TRUE(decimal_from_text("-.5", 1, out));
  EXPECT_EQ(out, "-0.5");
  out.clear();
  EXPECT_FALSE(decimal_from_text("1e5", 0, out));
}

// Scale bounds keep an attacker-chosen scale from sizing an allocation.
TEST(LogicalTypes, DecimalScaleBounds) {
  EXPECT_EQ(decimal(std::string("\x05", 1), -1), "50");
  EXPECT_EQ(decimal(std::string("\xfb", 1), kMinDecimalScale), "-5" + std::string(1000, '0'));
  EXPECT_EQ(decimal(std::string("\x01", 1), kMaxDecimalScale), "0." + std::string(16382, '0') + "1");
  std::string out;
  EXPECT_FALSE(decimal_from_unscaled(std::string("\x01", 1), kMaxDecimalScale + 1, out));
  EXPECT_FALSE(decimal_from_unscaled(std::string("\x01", 1), std::numeric_limits<int32_t>::max(), out));
  EXPECT_FALSE(decimal_from_unscaled(std::string("\x01", 1), kMinDecimalScale - 1, out));
  EXPECT_FALSE(decimal_from_unscaled(std::string("\x01", 1), std::numeric_limits<int32_t>::min(), out));
  EXPECT_FALSE(decimal_from_text("1", std::numeric_limits<int32_t>::max(), out));
  EXPECT_FALSE(decimal_from_text("1", kMinDecimalScale - 1, out));
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(decimal_from_text("1200", -2, out));
  EXPECT_EQ(out, "1200");
}

// Up to 8 bytes take a 64-bit path, longer values the big-number one: both agree.
TEST(LogicalTypes, DecimalsAtThe64BitBoundary) {
  EXPECT_EQ(decimal(std::string("\xff\xff\xff\xff\xff\xff\xff\xff", 8), 2), "-0.01");
  EXPECT_EQ(decimal(std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff", 9), 2), "-0.01");
  EXPECT_EQ(decimal(std::string("\x00\x7f\xff\xff\xff\xff\xff\xff\xff", 9), 3), "9223372036854775.807");
  EXPECT_EQ(decimal(std::string("\x7f\xff\xff\xff\xff\xff\xff\xff", 8), 3), "9223372036854775.807");
  EXPECT_EQ(decimal(std::string("\x00", 1), -2), "0");
  EXPECT_EQ(decimal(std::string("\x0c", 1), -2), "1200");
  EXPECT_EQ(decimal(std::string("\xf4", 1), -2), "-1200");
}

TEST(LogicalTypes, Integers) {
  int64_t v = 0;
  EXPECT_TRUE(parse_int64("999999999999999999", v));
  EXPECT_EQ(v, 999999999999999999);
  EXPECT_TRUE(parse_int64("-9223372036854775808", v));
  EXPECT_EQ(v, std::numeric_limits<int64_t>::min());
  EXPECT_FALSE(parse_int64("9223372036854775808", v));
  EXPECT_FALSE(parse_int64("-", v));
  EXPECT_FALSE(parse_int64("", v));
  EXPECT_FALSE(parse_int64("+1", v));
  EXPECT_FALSE(parse_int64("1.0", v));
  EXPECT_TRUE(parse_int64("-0", v));
  EXPECT_EQ(v, 0);
}

std::string hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    out += kHex[static_cast<unsigned char>(c) >> 4];
    out += kHex[static_cast<unsigned char>(c) & 15];
  }
  return out;
}

TEST(LogicalTypes, SridGoesIntoTheWkb) {
  // POINT(1 2), little and big endian.
  std::string le("\x01\x01\x00\x00\x00" "\x00\x00\x00\x00\x00\x00\xf0\x3f" "\x00\x00\x00\x00\x00\x00\x00\x40", 21);
  std::string be("\x00\x00\x00\x00\x01" "\x3f\xf0\x00\x00\x00\x00\x00\x00" "\x40\x00\x00\x00\x00\x00\x00\x00", 21);
  std::string wkb = le;
  ASSERT_TRUE(add_srid_to_wkb(wkb, 4326));
  EXPECT_EQ(hex(wkb), "0101000020e6100000000000000000f03f0000000000000040");
  // Already EWKB: unchanged.
  ASSERT_TRUE(add_srid_to_wkb(wkb, 4326));
  EXPECT_EQ(hex(wkb), "0101000020e6100000000000000000f03f0000000000000040");
  wkb = be;
  ASSERT_TRUE(add_srid_to_wkb(wkb, 3857));
  EXPECT_EQ(hex(wkb), "002000000100000f113ff00000000000004000000000000000");
  // Z flag of EWKB (0x80000000) and ISO type codes (1001) keep their bits.
  wkb = std::string("\x01\x01\x00\x00\x80", 5);
  ASSERT_TRUE(add_srid_to_wkb(wkb, 1));
  EXPECT_EQ(hex(wkb), "01010000a001000000");
  wkb = std::string("\x01\xe9\x03\x00\x00", 5);
  ASSERT_TRUE(add_srid_to_wkb(wkb, 1));
  EXPECT_EQ(hex(wkb), "01e903002001000000");
  for (std::string bad : {std::string(), std::string("\x01\x01\x00\x00", 4), std::string("\x02\x01\x00\x00\x00", 5)}) {
    std::string before = bad;
    EXPECT_FALSE(add_srid_to_wkb(bad, 4326)) << hex(before);
    EXPECT_EQ(bad, before);
  }
}

TEST(LogicalTypes, SubMicrosecondDigits) {
  EXPECT_FALSE(has_sub_microsecond_digits("13:45:00.123456"));
  EXPECT_FALSE(has_sub_microsecond_digits("13:45:00.123456000"));
  EXPECT_FALSE(has_sub_microsecond_digits("2024-02-29 13:45:00"));
  EXPECT_FALSE(has_sub_microsecond_digits("infinity"));
  EXPECT_TRUE(has_sub_microsecond_digits("13:45:00.123456789"));
  EXPECT_TRUE(has_sub_microsecond_digits("2024-02-29 13:45:00.0000001"));
  EXPECT_TRUE(has_sub_microsecond_digits("2024-02-29T13:45:00.123456789Z"));
  EXPECT_TRUE(has_sub_microsecond_digits("13:45:00.123456789+02:00"));
  EXPECT_TRUE(has_sub_microsecond_digits("0044-03-15 13:45:00.000000001 BC"));
  EXPECT_TRUE(has_sub_microsecond_digits("PT0.0000001S"));
  EXPECT_EQ(truncated_to_microseconds("2024-02-29T13:45:00.123456789Z"), "2024-02-29T13:45:00.123456Z");
  EXPECT_EQ(truncated_to_microseconds("13:45:00.1234567"), "13:45:00.123456");
  EXPECT_EQ(truncated_to_microseconds("0044-03-15 13:45:00.000000001 BC"), "0044-03-15 13:45:00.000000 BC");
  EXPECT_EQ(truncated_to_microseconds("13:45:00.12"), "13:45:00.12");
}

TEST(LogicalTypes, Base64) {
  std::string out;
  EXPECT_TRUE(decode_base64("aGVsbG8=", out));
  EXPECT_EQ(out, "hello");
  out.clear();
  EXPECT_TRUE(decode_base64("aGVsbG8", out));
  EXPECT_EQ(out, "hello");
  out.clear();
  EXPECT_FALSE(decode_base64("aGV*bG8=", out));
  out.clear();
  EXPECT_FALSE(decode_base64("a", out));
}

TEST(LogicalTypes, Durations) {
  std::string out;
  format_micro_duration(0, out);
  EXPECT_EQ(out, "PT0S");
  out.clear();
  format_micro_duration(90061500000, out);
  EXPECT_EQ(out, "P1DT1H1M1.5S");
  out.clear();
  format_micro_duration(-3600000000, out);
  EXPECT_EQ(out, "PT-1H");
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

TEST(LogicalTypes, TimestampsBeforeTheEpochAndBC) {
  std::string out;
  format_timestamp(-1, 1000000000, out);
  EXPECT_EQ(out, "1969-12-31 23:59:59.999999999");
  out.clear();
  format_timestamp(-735160LL * 86400000 + 43200000, 1000, out);
  EXPECT_EQ(out, "0044-03-15 12:00:00 BC");
  out.clear();
  format_timestamp(-2208988800000000, 1000000, out);
  EXPECT_EQ(out, "1900-01-01 00:00:00");
}

}  // namespace
}  // namespace sluice
