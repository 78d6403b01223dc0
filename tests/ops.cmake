# Operations tests: metrics registry and text format, JSON logs, and the sluice
# executable's endpoints, check-config and graceful shutdown against real services.
find_package(RapidJSON REQUIRED)
sluice_add_test(unit_metrics LABEL unit
  SOURCES unit/metrics/registry_test.cc unit/core/logging_test.cc unit/config/effective_config_test.cc
  LIBS sluice::core)
target_include_directories(unit_metrics PRIVATE ${RAPIDJSON_INCLUDE_DIRS})
sluice_add_test(integration_ops LABEL integration
  SOURCES integration/ops_test.cc
  LIBS PkgConfig::HTTPLIB PkgConfig::RDKAFKA)
