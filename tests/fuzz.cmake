# libFuzzer targets for the configuration parser and the validator rule parser,
# clang only, beside fuzz_decode (tests/decode.cmake, which declares
# SLUICE_FUZZ). Each compiles the sources it exercises so they get coverage
# instrumentation; scripts/fuzz.sh builds and runs them on tests/fuzz/<name>.
if(SLUICE_FUZZ AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  # sluice_add_fuzz_target(NAME SOURCES ... LIBS ...)
  function(sluice_add_fuzz_target name)
    cmake_parse_arguments(F "" "" "SOURCES;LIBS" ${ARGN})
    add_executable(${name} ${F_SOURCES})
    target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src
                               ${CMAKE_BINARY_DIR}/generated)
    target_link_libraries(${name} PRIVATE ${F_LIBS})
    # The sanitizer set fuzz_decode had while it parsed JSON with RapidJSON,
    # whose internal stack computes `nullptr + n` (benign) on its first push.
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined
                           -fno-sanitize=pointer-overflow -fno-sanitize-recover=all)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  endfunction()

  sluice_add_fuzz_target(fuzz_config
    SOURCES unit/config/config_fuzz.cc ${PROJECT_SOURCE_DIR}/src/config/config.cc
            ${PROJECT_SOURCE_DIR}/src/config/config_keys.cc ${PROJECT_SOURCE_DIR}/src/core/change_event.cc
            ${PROJECT_SOURCE_DIR}/src/core/identifier.cc ${PROJECT_SOURCE_DIR}/src/route/router.cc)
  sluice_add_fuzz_target(fuzz_rule
    SOURCES unit/validate/rule_fuzz.cc ${PROJECT_SOURCE_DIR}/src/validate/rule.cc
            ${PROJECT_SOURCE_DIR}/src/validate/decimal_text.cc ${PROJECT_SOURCE_DIR}/src/core/change_event.cc
    LIBS PkgConfig::RE2)
endif()
