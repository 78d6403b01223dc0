# Debezium decoder: unit tests and the data-driven tests over tests/data/debezium.
sluice_add_test(unit_decode LABEL unit
  SOURCES unit/decode/debezium_decoder_test.cc unit/decode/logical_types_test.cc unit/decode/json_tree_test.cc
  LIBS sluice::core)
target_compile_definitions(unit_decode PRIVATE
  SLUICE_DEBEZIUM_DATA_DIR="${CMAKE_CURRENT_SOURCE_DIR}/data/debezium")
target_include_directories(unit_decode PRIVATE ${PROJECT_SOURCE_DIR}/src ${RapidJSON_INCLUDE_DIRS} ${RAPIDJSON_INCLUDE_DIRS})

# libFuzzer target, clang only (the g++ build never sees it); scripts/fuzz.sh
# builds and runs it with fuzz_config and fuzz_rule (tests/fuzz.cmake). By hand:
#   cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DSLUICE_FUZZ=ON
#   ninja -C build-fuzz fuzz_decode && build-fuzz/tests/fuzz_decode -max_len=65536 corpus tests/data/debezium
# The decoder sources are compiled into the target so they get coverage instrumentation.
option(SLUICE_FUZZ "Build libFuzzer targets (needs clang)" OFF)
if(SLUICE_FUZZ AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  file(GLOB SLUICE_DECODE_SOURCES ${PROJECT_SOURCE_DIR}/src/decode/*.cc)
  add_executable(fuzz_decode unit/decode/debezium_decoder_fuzz.cc ${SLUICE_DECODE_SOURCES}
                 ${PROJECT_SOURCE_DIR}/src/core/change_event.cc)
  target_include_directories(fuzz_decode PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  # The decoder has its own JSON parser, so every UBSan check applies, pointer
  # overflow included (RapidJSON's stack needed that one off). Anything aborts.
  target_compile_options(fuzz_decode PRIVATE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
  target_link_options(fuzz_decode PRIVATE -fsanitize=fuzzer,address,undefined)
endif()
