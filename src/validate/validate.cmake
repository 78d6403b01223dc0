# Validators and masking: part of sluice_core. RE2 keeps every pattern linear
# in the size of the value; OpenSSL provides HMAC-SHA256 for mask = hash.
find_package(OpenSSL REQUIRED)
target_sources(sluice_core PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/decimal_text.cc
  ${CMAKE_CURRENT_LIST_DIR}/rule.cc
  ${CMAKE_CURRENT_LIST_DIR}/validator_chain.cc
  ${CMAKE_CURRENT_LIST_DIR}/masker.cc
)
target_link_libraries(sluice_core PRIVATE PkgConfig::RE2 OpenSSL::Crypto)
