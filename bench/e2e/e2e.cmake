# The end-to-end harness (needs the test support: SLUICE_BUILD_TESTS=ON).
add_executable(bench_e2e ${CMAKE_CURRENT_LIST_DIR}/e2e_main.cc ${CMAKE_CURRENT_LIST_DIR}/kafka_drain.cc
  ${CMAKE_CURRENT_LIST_DIR}/naive_consumer.cc)
target_link_libraries(bench_e2e PRIVATE sluice_workload sluice_test_support PkgConfig::RDKAFKA PkgConfig::LIBPQ
  sluice_warnings)
