// COPY text escaping, bytea hex, JSON array to PostgreSQL array literals and
// the type map used when the sink creates columns.
#include "sinks/postgres/copy_writer.h"

#include <gtest/gtest.h>

#include "sinks/postgres/connection.h"
#include "sinks/postgres/table_catalog.h"

namespace {

using sluice::Column;
using sluice::FieldType;
using sluice::pg::CopyWriter;
using sluice::pg::pg_array_literal_from_json;
using sluice::pg::pg_type_for;

TEST(CopyWriter, EscapesTextAndWritesNullAndBytes) {
  CopyWriter writer;
  writer.text("a\\b\tc\nd\re");
  writer.null();
  writer.bytes(std::string("\x00\xff\x10", 3));
  writer.text("");
  writer.end_row();
  writer.text("\\N");
  writer.end_row();
  EXPECT_EQ(writer.data(), "a\\\\b\\tc\\nd\\re\t\\N\t\\\\x00ff10\t\n\\\\N\n");
  EXPECT_EQ(writer.rows(), 2u);
}

TEST(CopyWriter, ConvertsJsonArrays) {
  EXPECT_EQ(pg_array_literal_from_json("[]"), "{}");
  EXPECT_EQ(pg_array_literal_from_json("[1, 2,null\n]"), "{\"1\",\"2\",NULL}");
  EXPECT_EQ(pg_array_literal_from_json("[[1,2],[3,4]]"), "{{\"1\",\"2\"},{\"3\",\"4\"}}");
  EXPECT_EQ(pg_array_literal_from_json(R"(["a\"b", "c,d", "\\", "\u00e9"])"),
            "{\"a\\\"b\",\"c,d\",\"\\\\\",\"\xc3\xa9\"}");
  EXPECT_EQ(pg_array_literal_from_json(R"([{"k": "]"}])"), "{\"{\\\"k\\\": \\\"]\\\"}\"}");
  EXPECT_FALSE(pg_array_literal_from_json("[1,"));
  EXPECT_FALSE(pg_array_literal_from_json("{\"a\":1}"));
  EXPECT_FALSE(pg_array_literal_from_json("[\"unterminated]"));
  EXPECT_FALSE(pg_array_literal_from_json(std::string(1000, '[') + std::string(1000, ']')));
}

TEST(TypeMap, MapsEveryFieldType) {
  auto type = [](FieldType t, int32_t precision = -1, int32_t scale = -1) {
    Column c;
    c.type = t;
    c.precision = precision;
    c.scale = scale;
    return pg_type_for(c);
  };
  EXPECT_EQ(type(FieldType::kInt8), "smallint");
  EXPECT_EQ(type(FieldType::kInt16), "smallint");
  EXPECT_EQ(type(FieldType::kInt32), "integer");
  EXPECT_EQ(type(FieldType::kInt64), "bigint");
  EXPECT_EQ(type(FieldType::kFloat32), "real");
  EXPECT_EQ(type(FieldType::kFloat64), "double precision");
  EXPECT_EQ(type(FieldType::kDecimal, 10, 2), "numeric(10,2)");
  EXPECT_EQ(type(FieldType::kDecimal), "numeric");
  EXPECT_EQ(type(FieldType::kVariableDecimal), "numeric");
  EXPECT_EQ(type(FieldType::kJson), "jsonb");
  EXPECT_EQ(type(FieldType::kBytes), "bytea");
  EXPECT_EQ(type(FieldType::kYear), "integer");
  EXPECT_EQ(type(FieldType::kMap), "jsonb");
  EXPECT_EQ(type(FieldType::kTimestampTz), "timestamp with time zone");
  Column array;
  array.type = FieldType::kArray;
  array.element_type = FieldType::kInt64;
  EXPECT_EQ(pg_type_for(array), "bigint[]");
  array.element_type = FieldType::kStruct;
  EXPECT_EQ(pg_type_for(array), "jsonb");
}

TEST(QuoteIdentifier, DoublesQuotes) {
  EXPECT_EQ(sluice::pg::quote_identifier("x\"; DROP TABLE t; --"), "\"x\"\"; DROP TABLE t; --\"");
  EXPECT_EQ(sluice::pg::quoted_table({"s\"", "t"}), "\"s\"\"\".\"t\"");
}

}  // namespace
