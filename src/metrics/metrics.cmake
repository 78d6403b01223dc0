# Metrics registry and the Prometheus text format: part of sluice_core, pure
# C++ (the HTTP endpoint lives beside the executable, src/cli/metrics_server).
target_sources(sluice_core PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/histogram.cc
  ${CMAKE_CURRENT_LIST_DIR}/registry.cc
)
