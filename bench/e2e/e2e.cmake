# The end-to-end harness (needs the test support: SLUICE_BUILD_TESTS=ON).
add_executable(bench_e2e ${CMAKE_CURRENT_LIST_DIR}/e2e_main.cc ${CMAKE_CURRENT_LIST_DIR}/kafka_drain.cc
  ${CMAKE_CURRENT_LIST_DIR}/naive_consumer.cc ${CMAKE_CURRENT_LIST_DIR}/cpu_budget.cc)
target_link_libraries(bench_e2e PRIVATE sluice_workload sluice_test_support PkgConfig::RDKAFKA PkgConfig::LIBPQ
  sluice_warnings)

# A smoke run at tiny size that asserts correctness only (never timing): the
# harness itself, the naive baseline and the latency mode keep working.
if(SLUICE_BUILD_TESTS)
  add_test(NAME bench_e2e_smoke COMMAND bench_e2e --events 3000 --naive-seconds 20 --log ${CMAKE_BINARY_DIR}/bench_e2e_smoke.log)
  add_test(NAME bench_e2e_smoke_schemaless COMMAND bench_e2e --events 3000 --schemaless --naive-seconds 20
    --log ${CMAKE_BINARY_DIR}/bench_e2e_smoke_schemaless.log)
  add_test(NAME bench_e2e_smoke_latency COMMAND bench_e2e --latency 1000 2 --log ${CMAKE_BINARY_DIR}/bench_e2e_smoke_latency.log)
  set_tests_properties(bench_e2e_smoke bench_e2e_smoke_schemaless bench_e2e_smoke_latency PROPERTIES
    LABELS integration TIMEOUT 300)
endif()
