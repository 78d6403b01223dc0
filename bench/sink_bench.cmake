# PostgresSink throughput against a plain COPY of the same final rows.
add_executable(sink_bench ${CMAKE_CURRENT_LIST_DIR}/sink_bench.cc)
target_link_libraries(sink_bench PRIVATE sluice::postgres sluice_test_support benchmark::benchmark sluice_warnings)
