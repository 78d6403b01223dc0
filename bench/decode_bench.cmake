# Debezium decoder micro benchmark.
add_executable(bench_decode ${CMAKE_CURRENT_LIST_DIR}/decode_bench.cc)
target_link_libraries(bench_decode PRIVATE sluice::core benchmark::benchmark benchmark::benchmark_main sluice_warnings)
target_include_directories(bench_decode PRIVATE ${PROJECT_SOURCE_DIR}/src)
