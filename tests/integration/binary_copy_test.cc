// Binary COPY against a real PostgreSQL server: every value the binary writer
// encodes reads back exactly as the same text through text COPY (same value,
// same output text), typmods included; spellings it does not encode are
// refused, so the sink sends them as text for the server to read.
#include "sinks/postgres/binary_copy_writer.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "sinks/postgres/connection.h"
#include "sinks/postgres/copy_writer.h"
#include "tests/support/test_services.h"

namespace {

using sluice::pg::BinaryCopyWriter;
using sluice::pg::BinaryType;
using sluice::pg::binary_type_of;
using sluice::pg::Connection;
using sluice::pg::CopyWriter;
using sluice::testing::postgres;
using sluice::testing::unique_name;

struct Case {
  std::string type;  // as format_type() writes it
  std::vector<std::string> values;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"numeric",
       {"0", "-0", "1", "-1", "12.340", "-12.340", "0.0001", "1234.5678", "99999999", "100000000", "0.00000001",
        "123456789012345678901234567890.000000001", "-0.5", ".5", "5.", "00012.5000", "-0.000", "10000.0001"}},
      {"numeric(12,2)", {"1.005", "-1.005", "1234567890.12", "0.001", "7"}},
      {"smallint", {"-32768", "32767", "0", "-1"}},
      {"integer", {"-2147483648", "2147483647", "42"}},
      {"bigint", {"-9223372036854775808", "9223372036854775807", "0"}},
      {"double precision",
       {"NaN", "Infinity", "-Infinity", "0", "-0", "1.5", "0.1", "1e-300", "1.7976931348623157e308",
        "2.2250738585072014e-308", "123456789.123456789", "-2.5E+10"}},
      {"real", {"3.4028235e38", "0.1", "-1.5e-10", "NaN", "16777217"}},
      {"boolean", {"true", "false"}},
      {"date", {"2000-01-01", "1970-01-01", "0001-01-01", "9999-12-31", "2024-02-29", "1999-12-31", "1900-03-01",
                "infinity", "-infinity"}},
      {"time without time zone", {"00:00:00", "23:59:59.999999", "13:45:00.123456", "12:00:00.5", "12:00:00.123456000"}},
      {"timestamp without time zone",
       {"2000-01-01 00:00:00", "1969-12-31 23:59:59.999999", "0001-01-01 00:00:00", "9999-12-31 23:59:59.999999",
        "infinity", "-infinity", "2024-02-29 13:45:00.123456", "1600-02-29 12:00:00.000001"}},
      {"timestamp(3) without time zone", {"2024-01-01 00:00:00.1235", "2024-01-01 23:59:59.9999"}},
      {"timestamp with time zone",
       {"2024-02-29 13:45:00.123456+00", "2024-02-29 13:45:00+05:30", "1960-06-01 00:00:00-08",
        "2000-01-01 00:00:00+14", "1999-12-31 23:59:59.5-03:30:15", "infinity", "-infinity"}},
      {"uuid", {"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12"}},
      {"jsonb", {"{\"a\": [1, 2], \"b\": \"x\"}", "[]", "null", "{\"b\":1,\"a\":2}", "1.50"}},
      {"json", {"{\"b\":1,  \"a\":2}"}},
      {"text", {"", "h\xc3\xa9llo", "a\tb\\c\nd"}},
      {"character varying(10)", {"", "ten chars!"}},
  };
  return all;
}

class BinaryCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Connection::open({postgres().create_database(unique_name("binary_copy")), "", ""});
    ASSERT_TRUE(opened) << opened.error().message;
    connection_ = std::move(*opened);
    ASSERT_TRUE(connection_->exec("SET TIME ZONE 'America/St_Johns'")) << "an odd zone: binary is UTC";
  }

  std::unique_ptr<Connection> connection_;
};

TEST_F(BinaryCopyTest, EveryEncodedValueReadsBackAsItsTextDoes) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.type);
    auto type = binary_type_of(c.type);
    ASSERT_TRUE(type.has_value());
    ASSERT_TRUE(connection_->exec("DROP TABLE IF EXISTS by_text, by_binary; CREATE TABLE by_text (i int, v " + c.type +
                                  "); CREATE TABLE by_binary (LIKE by_text)"));
    CopyWriter text;
    BinaryCopyWriter binary({BinaryType::kInt4, *type});
    for (size_t i = 0; i < c.values.size(); ++i) {
      text.text(std::to_string(i));
      text.text(c.values[i]);
      text.end_row();
      binary.text(std::to_string(i));
      binary.text(c.values[i]);
      ASSERT_TRUE(binary.end_row()) << c.values[i];
    }
    // A NULL too.
    text.text("999");
    text.null();
    text.end_row();
    binary.text("999");
    binary.null();
    ASSERT_TRUE(binary.end_row());
    binary.finish();
    ASSERT_TRUE(connection_->copy_in("COPY by_text FROM STDIN", text.data()));
    auto copied = connection_->copy_in("COPY by_binary FROM STDIN (FORMAT binary)", binary.data());
    ASSERT_TRUE(copied) << copied.error().message;
    // The same output text, and (json has no equality) the same value.
    std::string same_value = c.type == "json" ? "" : " OR (t.v::text <> 'NaN' AND t.v IS DISTINCT FROM b.v)";
    auto differing = connection_->exec(
        "SELECT coalesce(string_agg(t.i || ': ' || coalesce(t.v::text, 'NULL') || ' <> ' || coalesce(b.v::text, "
        "'NULL'), '; '), '') FROM by_text AS t FULL JOIN by_binary AS b USING (i) "
        "WHERE t.v::text IS DISTINCT FROM b.v::text" + same_value);
    ASSERT_TRUE(differing);
    EXPECT_EQ(std::string(PQgetvalue(differing->get(), 0, 0)), "");
    auto counted = connection_->exec("SELECT count(*) FROM by_binary");
    ASSERT_TRUE(counted);
    EXPECT_EQ(std::stoul(PQgetvalue(counted->get(), 0, 0)), c.values.size() + 1);
  }
}

TEST_F(BinaryCopyTest, TypmodsRefuseWhatTextRefuses) {
  ASSERT_TRUE(connection_->exec("CREATE TABLE narrow (v numeric(4,2))"));
  BinaryCopyWriter binary({BinaryType::kNumeric});
  binary.text("123.45");
  ASSERT_TRUE(binary.end_row());
  binary.finish();
  auto copied = connection_->copy_in("COPY narrow FROM STDIN (FORMAT binary)", binary.data());
  ASSERT_FALSE(copied);
  EXPECT_EQ(copied.error().reason, "22003") << copied.error().message;
}

TEST(BinaryCopyWriter, OtherSpellingsAreLeftToTheServer) {
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"numeric", "1e5"},        {"numeric", "NaN"},        {"numeric", "+1"},
      {"numeric", "1 "},         {"numeric", "."},          {"integer", "+1"},
      {"integer", " 1"},         {"integer", "2147483648"}, {"smallint", "40000"},
      {"boolean", "t"},          {"boolean", "yes"},        {"double precision", "+1"},
      {"double precision", "0x1p3"},
      {"date", "0044-03-15 BC"}, {"date", "10000-01-01"},   {"date", "2023-02-29"},
      {"date", "2024-1-01"},     {"time without time zone", "24:00:00"},
      {"time without time zone", "13:45:00.1234567"},
      {"timestamp without time zone", "2024-01-01T00:00:00"},
      {"timestamp without time zone", "2024-01-01 00:00:00+00"},
      {"timestamp with time zone", "2024-01-01 00:00:00"},
      {"timestamp with time zone", "2024-01-01 00:00:00Z"},
      {"timestamp with time zone", "now"},
      {"uuid", "a0eebc999c0b4ef8bb6d6bb9bd380a11"},
      {"uuid", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"},
      {"bytea", "\\x00"},
  };
  for (const auto& [type, value] : refused) {
    auto binary_type = binary_type_of(type);
    ASSERT_TRUE(binary_type) << type;
    BinaryCopyWriter writer({*binary_type});
    writer.text(value);
    EXPECT_FALSE(writer.end_row()) << type << ": " << value;
  }
  for (std::string type : {"interval", "time with time zone", "text[]", "character(3)", "inventory.mood", "xml"}) {
    EXPECT_FALSE(binary_type_of(type).has_value()) << type;
  }
}

TEST(BinaryCopyWriter, ARefusedRowIsTakenBackOut) {
  BinaryCopyWriter writer({BinaryType::kInt4, BinaryType::kBool});
  writer.text("1");
  writer.text("true");
  ASSERT_TRUE(writer.end_row());
  const std::string one_row = writer.data();
  writer.text("2");
  writer.text("maybe");
  EXPECT_FALSE(writer.end_row());
  EXPECT_EQ(writer.data(), one_row);
  writer.bytes("x");  // bytes only go to bytea columns
  writer.text("true");
  EXPECT_FALSE(writer.end_row());
  EXPECT_EQ(writer.data(), one_row);
}

}  // namespace
