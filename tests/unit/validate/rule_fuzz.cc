// libFuzzer target for the validator rule parser (sluice::validate::Rule). The
// input is a rule list ("min:0, regex:[A-Z]{2}"), or "RULES\x01VALUE" to also
// check VALUE against each parsed rule as a text and as a numeric column. Parsing
// must return a rule or an error, and checking must return, never crash.
// Seed corpus: tests/fuzz/rule.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "validate/rule.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view rules = input;
  std::string_view value;
  if (size_t split = input.find('\x01'); split != std::string_view::npos) {
    rules = input.substr(0, split);
    value = input.substr(split + 1);
  }
  sluice::Column text_column;
  text_column.name = "c";
  text_column.type = sluice::FieldType::kString;
  sluice::Column numeric_column = text_column;
  numeric_column.type = sluice::FieldType::kDecimal;
  sluice::Datum datum = sluice::Datum::of(std::string(value));
  for (const std::string& text : sluice::validate::split_rules(rules)) {
    auto rule = sluice::validate::Rule::parse(text);
    if (!rule.ok()) continue;
    (void)rule->check(&datum, &text_column);
    (void)rule->check(&datum, &numeric_column);
    (void)rule->check(nullptr, nullptr);
  }
  return 0;
}
