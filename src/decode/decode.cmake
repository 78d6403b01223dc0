# Debezium decoding: part of sluice_core.
target_sources(sluice_core PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/debezium_decoder.cc
  ${CMAKE_CURRENT_LIST_DIR}/json_scan.cc
  ${CMAKE_CURRENT_LIST_DIR}/json_tree.cc
  ${CMAKE_CURRENT_LIST_DIR}/connect_schema.cc
  ${CMAKE_CURRENT_LIST_DIR}/logical_types.cc
  ${CMAKE_CURRENT_LIST_DIR}/schema_cache.cc
)
target_include_directories(sluice_core PRIVATE ${RapidJSON_INCLUDE_DIRS} ${RAPIDJSON_INCLUDE_DIRS})
