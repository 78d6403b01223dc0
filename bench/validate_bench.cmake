# Validator chain and masker against decoding the same event.
add_executable(bench_validate ${CMAKE_CURRENT_LIST_DIR}/validate_bench.cc)
target_link_libraries(bench_validate PRIVATE sluice::core benchmark::benchmark benchmark::benchmark_main sluice_warnings)
target_include_directories(bench_validate PRIVATE ${PROJECT_SOURCE_DIR}/src)
