# PostgresSink throughput against a plain COPY of the same final rows.
add_executable(bench_sink ${CMAKE_CURRENT_LIST_DIR}/sink_bench.cc)
target_link_libraries(bench_sink PRIVATE sluice::postgres sluice_test_support benchmark::benchmark sluice_warnings)
