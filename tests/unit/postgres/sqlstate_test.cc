// Pins the SQLSTATE classification: which failures are retried, which
// dead-letter one row and which stop the pipeline.
#include "sinks/postgres/sqlstate.h"

#include <gtest/gtest.h>

namespace {

using sluice::ErrorClass;
using sluice::pg::classify_connection_failure;
using sluice::pg::classify_sqlstate;
using sluice::pg::means_table_changed;
using sluice::pg::sqlstate_name;
using sluice::pg::sqlstate_reason;

TEST(SqlState, TransientConditions) {
  for (const char* code : {"08000", "08003", "08006", "08001", "08P01", "40001", "40P01", "57P01", "57P02",
                           "57P03", "53000", "53100", "53200", "53300", "53400", "55P03", "57014"}) {
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
                           "22000", "22P99", "23000", "23001", "23502", "23503", "23505", "23514", "23P01",
                           "54000", "P0001"}) {
    EXPECT_EQ(classify_sqlstate(code), ErrorClass::kRecord) << code;
  }
}

TEST(SqlState, FatalConditions) {
  for (const char* code : {"28000", "28P01", "42501", "42601", "42703", "42P01", "42804", "42000", "XX000",
                           "XX001", "25P02", "55000", "40000", "40002", "0A000", "99999", "54001", "54011",
                           "54023", "54999", "P0000", "P0002", "P0003", "P0004"}) {
    EXPECT_EQ(classify_sqlstate(code), ErrorClass::kFatal) << code;
  }
}

TEST(SqlState, TablesChangedBehindTheCatalogCacheAreWorthAReload) {
  for (const char* code : {"42703", "42P01", "42804"}) EXPECT_TRUE(means_table_changed(code)) << code;
  for (const char* code : {"42501", "42601", "23505", "08006", ""}) EXPECT_FALSE(means_table_changed(code)) << code;
}

TEST(SqlState, ConnectionFailures) {
  for (const char* message :
       {"connection to server at \"db\" (10.0.0.1), port 5432 failed: FATAL:  password authentication failed for user \"u\"",
        "connection to server on socket \"/run/postgresql/.s.PGSQL.5432\" failed: fe_sendauth: no password supplied",
        "connection to server at \"db\" (10.0.0.1), port 5432 failed: FATAL:  database \"shop\" does not exist",
        "connection to server at \"db\" (10.0.0.1), port 5432 failed: FATAL:  role \"u\" does not exist",
        "connection to server at \"db\" (10.0.0.1), port 5432 failed: FATAL:  no pg_hba.conf entry for host "
        "\"10.0.0.2\", user \"u\", database \"shop\", no encryption",
        "connection to server at \"db\" (10.0.0.1), port 5432 failed: FATAL:  role \"u\" is not permitted to log in",
        "invalid connection option \"bogus\""}) {
    EXPECT_EQ(classify_connection_failure(message, false), ErrorClass::kFatal) << message;
  }
  EXPECT_EQ(classify_connection_failure("", true), ErrorClass::kFatal);
  for (const char* message :
       {"connection to server at \"db\" (10.0.0.1), port 5432 failed: Connection refused\n\tIs the server running "
        "on that host and accepting TCP/IP connections?",
        "connection to server at \"db\" (10.0.0.1), port 5432 failed: FATAL:  the database system is starting up",
        "connection to server at \"db\" (10.0.0.1), port 5432 failed: FATAL:  sorry, too many clients already",
        "could not translate host name \"db\" to address: Temporary failure in name resolution",
        "server closed the connection unexpectedly", ""}) {
    EXPECT_EQ(classify_connection_failure(message, false), ErrorClass::kTransient) << message;
  }
}

TEST(SqlState, Names) {
  EXPECT_EQ(sqlstate_name("54000"), "program_limit_exceeded");
  EXPECT_EQ(sqlstate_name("P0001"), "raise_exception");
  EXPECT_EQ(sqlstate_name("23514"), "check_violation");
  EXPECT_EQ(sqlstate_name("23502"), "not_null_violation");
  EXPECT_EQ(sqlstate_name("23505"), "unique_violation");
  EXPECT_EQ(sqlstate_name("40P01"), "deadlock_detected");
  EXPECT_EQ(sqlstate_name("22999"), "data_exception");
  EXPECT_EQ(sqlstate_name("ZZ999"), "unknown");
  EXPECT_EQ(sqlstate_reason("23514"), "23514 check_violation");
}

}  // namespace
