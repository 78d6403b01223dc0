# PostgreSQL sink tests.
sluice_add_test(unit_postgres LABEL unit
  SOURCES unit/postgres/sqlstate_test.cc unit/postgres/copy_writer_test.cc unit/postgres/stale_guard_test.cc
    unit/postgres/table_plan_test.cc unit/postgres/history_plan_test.cc
    unit/postgres/table_routes_test.cc
  LIBS sluice::postgres sluice_order_events)
sluice_add_test(integration_postgres_sink LABEL integration
  SOURCES integration/postgres_sink_test.cc
  LIBS sluice::postgres sluice_sink_fixture)
sluice_add_test(integration_binary_copy LABEL integration
  SOURCES integration/binary_copy_test.cc
  LIBS sluice::postgres)
sluice_add_test(integration_offsets_store LABEL integration
  SOURCES integration/offsets_store_test.cc
  LIBS sluice::postgres)
sluice_add_test(integration_history_sink LABEL integration
  SOURCES integration/history_sink_test.cc
  LIBS sluice::postgres sluice_sink_fixture)
sluice_add_test(integration_history_run LABEL integration
  SOURCES integration/history_run_test.cc
  LIBS PkgConfig::RDKAFKA)
