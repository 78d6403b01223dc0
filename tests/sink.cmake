# PostgreSQL sink tests.
sluice_add_test(unit_postgres LABEL unit
  SOURCES unit/postgres/sqlstate_test.cc
  LIBS sluice::postgres)
