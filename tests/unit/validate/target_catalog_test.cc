#include "sinks/postgres/postgres_target_catalog.h"

#include <gtest/gtest.h>

namespace sluice::pg {
namespace {

TEST(TargetColumnFrom, ParsesTheTypesValidatorsCheck) {
  auto varchar = target_column_from("name", "character varying(10)", true);
  EXPECT_EQ(varchar.kind, TargetColumn::Kind::kVarchar);
  EXPECT_EQ(varchar.length, 10);
  EXPECT_TRUE(varchar.not_null);
  EXPECT_EQ(varchar.type, "character varying(10)");
  EXPECT_EQ(target_column_from("n", "character varying", false).length, -1);
  EXPECT_EQ(target_column_from("c", "character(3)", false).kind, TargetColumn::Kind::kChar);
  auto numeric = target_column_from("price", "numeric(12,2)", false);
  EXPECT_EQ(numeric.kind, TargetColumn::Kind::kNumeric);
  EXPECT_EQ(numeric.precision, 12);
  EXPECT_EQ(numeric.scale, 2);
  EXPECT_EQ(target_column_from("p", "numeric(5)", false).scale, 0);
  EXPECT_EQ(target_column_from("p", "numeric", false).precision, -1);
  EXPECT_EQ(target_column_from("q", "smallint", false).kind, TargetColumn::Kind::kSmallint);
  EXPECT_EQ(target_column_from("q", "integer", false).kind, TargetColumn::Kind::kInteger);
  EXPECT_EQ(target_column_from("q", "bigint", false).kind, TargetColumn::Kind::kBigint);
  EXPECT_EQ(target_column_from("a", "character varying(10)[]", false).kind, TargetColumn::Kind::kOther);
  EXPECT_EQ(target_column_from("t", "text", false).kind, TargetColumn::Kind::kOther);
  EXPECT_EQ(target_column_from("j", "jsonb", false).kind, TargetColumn::Kind::kOther);
}

}  // namespace
}  // namespace sluice::pg
