# Validators and masking tests.
sluice_add_test(unit_validate LABEL unit
  SOURCES unit/validate/decimal_text_test.cc unit/validate/rule_test.cc unit/validate/validator_chain_test.cc
          unit/validate/masker_test.cc
  LIBS sluice::core)
sluice_add_test(unit_target_catalog LABEL unit
  SOURCES unit/validate/target_catalog_test.cc
  LIBS sluice::postgres)
find_package(OpenSSL REQUIRED)
sluice_add_test(integration_validate LABEL integration
  SOURCES integration/validate_test.cc
  LIBS sluice::dlq sluice_consumed_record OpenSSL::Crypto)
