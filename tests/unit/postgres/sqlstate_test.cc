// Pins the SQLSTATE classification: which failures are retried, which
// dead-letter one row and which stop the pipeline.
#include "sinks/postgres/sqlstate.h"

#include <gtest/gtest.h>

namespace {

using sluice::ErrorClass;
using sluice::pg::classify_sqlstate;
using sluice::pg::sqlstate_name;
using sluice::pg::sqlstate_reason;

TEST(SqlState, TransientConditions) {
  for (const char* code : {"08000", "08003", "08006", "08001", "08P01", "40001", "40P01", "57P01", "57P02",
                           "57P03", "53000", "53100", "53200", "53300", "53400", "55P03"}) {
    EXPECT_EQ(classify_sqlstate(code), ErrorClass::kTransient) << code;
  }
}

TEST(SqlState, LostConnectionIsTransientWhateverTheCode) {
  EXPECT_EQ(classify_sqlstate(""), ErrorClass::kTransient);
  EXPECT_EQ(classify_sqlstate("23505", false), ErrorClass::kTransient);
  EXPECT_EQ(classify_sqlstate("42601", false), ErrorClass::kTransient);
  EXPECT_EQ(classify_sqlstate("bad"), ErrorClass::kTransient);
}

TEST(SqlState, RecordLevelConditions) {
  for (const char* code : {"22001", "22003", "22007", "22008", "22012", "22P02", "22023", "2200N", "22032",
                           "22000", "22P99", "23000", "23001", "23502", "23503", "23505", "23514", "23P01"}) {
    EXPECT_EQ(classify_sqlstate(code), ErrorClass::kRecord) << code;
  }
}

TEST(SqlState, FatalConditions) {
  for (const char* code : {"28000", "28P01", "42501", "42601", "42703", "42P01", "42804", "42000", "XX000",
                           "XX001", "25P02", "57014", "55000", "40000", "40002", "0A000", "P0001", "99999"}) {
    EXPECT_EQ(classify_sqlstate(code), ErrorClass::kFatal) << code;
  }
}

TEST(SqlState, Names) {
  EXPECT_EQ(sqlstate_name("23514"), "check_violation");
  EXPECT_EQ(sqlstate_name("23502"), "not_null_violation");
  EXPECT_EQ(sqlstate_name("23505"), "unique_violation");
  EXPECT_EQ(sqlstate_name("40P01"), "deadlock_detected");
  EXPECT_EQ(sqlstate_name("22999"), "data_exception");
  EXPECT_EQ(sqlstate_name("ZZ999"), "unknown");
  EXPECT_EQ(sqlstate_reason("23514"), "23514 check_violation");
}

}  // namespace
