# Debezium decoder: unit tests and the data-driven tests over tests/data/debezium.
sluice_add_test(unit_decode LABEL unit
  SOURCES unit/decode/debezium_decoder_test.cc unit/decode/logical_types_test.cc
  LIBS sluice::core)
target_compile_definitions(unit_decode PRIVATE
  SLUICE_DEBEZIUM_DATA_DIR="${CMAKE_CURRENT_SOURCE_DIR}/data/debezium")
target_include_directories(unit_decode PRIVATE ${PROJECT_SOURCE_DIR}/src)
